/**
 * Replies customers can trust, through the real server, model, encoder and socket.io: a reply is
 * grounded in retrieved help-centre sentences, carries its sources in chat:done and history, never
 * streams a sentence its check dropped; feedback and clarifying questions round-trip and are stored.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TEMPLATE_REPLIES } from "@/lib/chat/decide";
import { QUOTE_INTRO } from "@/lib/chat/grounded-reply";
import type { ReplyGrounding } from "@/lib/protocol/chat";
import { findAmbiguousMessage } from "../helpers/ambiguous";
import { customers, nextEvent, sendAndWait } from "../helpers/chat-client";

const serverUrl = inject("serverUrl");
const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
const { connect: customer, disconnectAll } = customers(serverUrl);
afterAll(async () => {
  disconnectAll();
  await pool.end();
});

async function storedReply(id: string) {
  const { rows } = await pool.query<{ text: string; grounding: ReplyGrounding | null; customerHelpful: boolean | null }>(
    `SELECT text, grounding, "customerHelpful" FROM "Message" WHERE id = $1`,
    [id],
  );
  return rows[0]!;
}

describe("grounded replies", () => {
  it("grounds a reply in the help centre, with its sources in chat:done, history and the stored record", async () => {
    const socket = await customer();
    const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "How long do refunds take after I send something back?" });
    if (!r.ack.ok) throw new Error("send failed");
    expect(r.sources).toEqual([{ slug: "returns-exchanges-and-refunds", title: "Returns, exchanges and refunds", url: "/help/returns-exchanges-and-refunds" }]);
    expect(r.text).toMatch(/5-7 business days/);

    const stored = await storedReply(r.messageId);
    expect(stored.text).toBe(r.text);
    expect(stored.grounding?.sources).toEqual(r.sources);
    expect(stored.grounding?.check?.facts[0]).toMatchObject({ article: { slug: "returns-exchanges-and-refunds", version: 1 } });

    const history = await socket.emitWithAck("chat:history", { conversationId: r.ack.conversationId });
    if (!history.ok) throw new Error("history failed");
    const reply = history.messages.find((m) => m.id === r.messageId)!;
    expect(reply).toMatchObject({ sources: r.sources, clarify: null, helpful: null });
    expect(history.messages.find((m) => m.role === "customer")).toMatchObject({ sources: [], clarify: null, helpful: null });
  });

  it("never streams a sentence its check dropped, and streams exactly the stored text", async () => {
    // Questions whose true answer is "no": the stock model tends to answer them "yes".
    const questions = [
      "can I use two discount codes on one order?",
      "can I still cancel my order after it has shipped?",
      "do you deliver on saturdays?",
      "can I pay with bitcoin?",
    ];
    let dropped = 0;
    for (const text of questions) {
      const socket = await customer();
      const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text });
      if (!r.ack.ok) throw new Error("send failed");
      const streamed = r.tokens.join("");
      const { text: storedText, grounding } = await storedReply(r.messageId);
      expect(streamed).toBe(storedText);
      if (!grounding?.check) continue; // answered from a template (e.g. out of scope)
      for (const s of grounding.check.sentences) {
        if (s.sent) expect(streamed).toContain(s.text);
        else {
          dropped++;
          expect(streamed, `dropped (${s.reason}) but streamed: ${s.text}`).not.toContain(s.text);
        }
      }
      if (grounding.check.replaced) expect(streamed.startsWith(QUOTE_INTRO)).toBe(true);
    }
    expect(dropped, "no sentence was dropped: the check was not exercised").toBeGreaterThan(0);
  });

  it("answers small talk with a fixed reply and no sources", async () => {
    const socket = await customer();
    const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "thank you so much, that was helpful!" });
    expect(r.text).toBe(TEMPLATE_REPLIES.thanks);
    expect(r.sources).toEqual([]);
  });
});

describe("customer feedback on replies", () => {
  it("stores 👍/👎 once on the customer's own bot reply, shows it in history, and refuses everything else", async () => {
    const socket = await customer();
    const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "how do I reset my password?" });
    if (!r.ack.ok) throw new Error("send failed");

    // Malformed, a customer message, someone else's reply: coded errors, nothing stored.
    expect(await socket.emitWithAck("chat:feedback", { messageId: r.messageId, helpful: "yes" } as never)).toMatchObject({ ok: false, error: { code: "invalid_payload" } });
    expect(await socket.emitWithAck("chat:feedback", { messageId: r.ack.messageId, helpful: true })).toMatchObject({ ok: false, error: { code: "not_applicable" } });
    const stranger = await customer();
    expect(await stranger.emitWithAck("chat:feedback", { messageId: r.messageId, helpful: false })).toMatchObject({ ok: false, error: { code: "unknown_message" } });
    expect((await storedReply(r.messageId)).customerHelpful).toBeNull();

    expect(await socket.emitWithAck("chat:feedback", { messageId: r.messageId, helpful: false })).toEqual({ ok: true, messageId: r.messageId, helpful: false });
    expect(await socket.emitWithAck("chat:feedback", { messageId: r.messageId, helpful: true })).toMatchObject({ ok: false, error: { code: "already_answered" } });
    expect((await storedReply(r.messageId)).customerHelpful).toBe(false);
    const history = await socket.emitWithAck("chat:history", { conversationId: r.ack.conversationId });
    if (!history.ok) throw new Error("history failed");
    expect(history.messages.find((m) => m.id === r.messageId)?.helpful).toBe(false);
  });
});

describe("clarifying questions", () => {
  let ambiguous: string;
  beforeAll(async () => {
    // A message the production classifier is torn between two help-centre topics on.
    const health = await (await fetch(`${serverUrl}/api/health`)).json();
    const { rows } = await pool.query<{ intent: string }>(`SELECT intent FROM "KnowledgeArticle" WHERE intent IS NOT NULL AND "retiredAt" IS NULL`);
    ambiguous = await findAmbiguousMessage(serverUrl, inject("modelsDir"), health.models.classifier.version, new Set(rows.map((r) => r.intent)));
  });

  it("asks 'Do you mean …?' with one option per topic, stores the pick as a label and answers as that topic", async () => {
    const socket = await customer();
    const question = await sendAndWait(socket, { clientMessageId: randomUUID(), text: ambiguous });
    if (!question.ack.ok) throw new Error("send failed");
    expect(question.text).toBe(TEMPLATE_REPLIES.clarify);
    expect(question.clarify).toHaveLength(2);
    const [pick, other] = question.clarify!;
    expect(pick!.title).not.toBe(pick!.intent); // customer-facing titles, not intent names

    // Bad picks first: an intent not offered, a customer message, someone else's question.
    expect(await socket.emitWithAck("chat:clarify", { messageId: question.messageId, intent: "not_offered" })).toMatchObject({ ok: false, error: { code: "not_applicable" } });
    expect(await socket.emitWithAck("chat:clarify", { messageId: question.ack.messageId, intent: pick!.intent })).toMatchObject({ ok: false, error: { code: "not_applicable" } });
    const stranger = await customer();
    expect(await stranger.emitWithAck("chat:clarify", { messageId: question.messageId, intent: pick!.intent })).toMatchObject({ ok: false, error: { code: "unknown_message" } });

    const answered = nextEvent<{ messageId: string; sources: unknown[] }>(socket, "chat:done", (p) => p.messageId !== question.messageId);
    expect(await socket.emitWithAck("chat:clarify", { messageId: question.messageId, intent: pick!.intent })).toEqual({ ok: true, messageId: question.messageId, intent: pick!.intent });
    const answer = await answered;
    expect(answer.sources.length).toBeGreaterThan(0);
    expect(await socket.emitWithAck("chat:clarify", { messageId: question.messageId, intent: other!.intent })).toMatchObject({ ok: false, error: { code: "already_answered" } });

    const { rows } = await pool.query(`SELECT intent, source FROM "IntentLabel" WHERE "messageId" = $1`, [question.ack.messageId]);
    expect(rows).toEqual([{ intent: pick!.intent, source: "customer_clarification" }]);
    const { rows: replies } = await pool.query(`SELECT id, "replyToId" FROM "Message" WHERE id = $1`, [answer.messageId]);
    expect(replies[0].replyToId).toBe(question.ack.messageId);
  });
});
