/**
 * Where grounded replies surface beyond the chat, against the real server and database: the public
 * help-centre pages the sources link to (live articles only, bodies rendered as text), and the staff
 * side — a reply's grounding and the customer's 👍/👎 in the transcript API, counted on the ML overview.
 */
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { ConversationDetail } from "@/lib/protocol/staff";
import type { ProductionStats } from "@/lib/protocol/ml";
import { connectCustomer, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { staffLogin } from "../helpers/staff";

const serverUrl = inject("serverUrl");
// lib modules read DATABASE_URL when first used, so it is set before they are imported.
process.env.DATABASE_URL = inject("databaseUrl");
const { createStaffUser } = await import("@/lib/auth/session");
const { saveArticle } = await import("@/lib/db/knowledge");
const { db } = await import("@/lib/db/client");

const PASSWORD = "correct horse battery staple";
const run = randomUUID().slice(0, 8);
const sockets: ChatClient[] = [];
/** Articles this file created, retired again at the end so no later reply is grounded in them. */
const created: { slug: string; version: number; title: string; body: string }[] = [];

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  for (const a of created) await saveArticle(a.slug, { title: a.title, body: a.body, intent: null, retired: true }, "test", a.version);
  await db().$disconnect();
});

async function article(title: string, body: string, retired: boolean) {
  const slug = `test-${run}-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const saved = await saveArticle(slug, { title, body, intent: null, retired }, "test", null);
  if (!saved) throw new Error("article not saved");
  if (!retired) created.push({ slug, version: saved.version, title, body });
  return slug;
}

async function page(urlPath: string) {
  const res = await fetch(`${serverUrl}${urlPath}`);
  return { status: res.status, html: await res.text(), csp: res.headers.get("content-security-policy") ?? "" };
}

describe("help centre", () => {
  it("lists the live articles and shows one, with a way back to the chat", async () => {
    const list = await page("/help");
    expect(list.status).toBe(200);
    expect(list.html).toContain("Returns, exchanges and refunds");
    expect(list.html).toContain('href="/help/returns-exchanges-and-refunds"');
    // Rendered per request: a strict nonce policy, not the prerendered pages' inline allowance.
    expect(list.csp).toMatch(/script-src 'self' 'nonce-/);

    const one = await page("/help/returns-exchanges-and-refunds");
    expect(one.status).toBe(200);
    expect(one.html).toContain("<h1>Returns, exchanges and refunds</h1>");
    expect(one.html).toMatch(/5-7 business days/);
    expect(one.html).toContain('href="/"');
  });

  it("answers 404 for an unknown or retired article, and leaves retired ones out of the list", async () => {
    expect((await page("/help/no-such-article")).status).toBe(404);
    const retired = await article(`Retired ${run}`, "This article was retired.", true);
    expect((await page(`/help/${retired}`)).status).toBe(404);
    expect((await page("/help")).html).not.toContain(`Retired ${run}`);
  });

  it("renders an article body as text, never as HTML", async () => {
    const body = `Before <script>window.__pwned${run}=1</script> and <b>bold ${run}</b>.\n\nA second paragraph.`;
    const slug = await article(`Markup ${run}`, body, false);
    const { status, html } = await page(`/help/${slug}`);
    expect(status).toBe(200);
    expect(html).toContain(`Before &lt;script&gt;window.__pwned${run}=1&lt;/script&gt; and &lt;b&gt;bold ${run}&lt;/b&gt;.</p>`);
    expect(html).toContain("<p>A second paragraph.</p>");
    expect(html).not.toContain(`<script>window.__pwned${run}`);
    expect(html).not.toContain(`<b>bold ${run}`);
  });
});

describe("staff side of grounded replies", () => {
  it("shows a reply's grounding and the customer's 👍 in the transcript, and counts it on the ML overview", async () => {
    const admin = await createStaffUser({ email: `admin-${run}@example.com`, name: "Admin", role: "admin", password: PASSWORD });
    const cookie = await staffLogin(serverUrl, admin.email, PASSWORD);
    const api = async <T>(urlPath: string) => {
      const res = await fetch(`${serverUrl}${urlPath}`, { headers: { cookie } });
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    };
    const before = await api<ProductionStats>("/api/ml/production?window=day");

    const { socket } = await connectCustomer(serverUrl);
    sockets.push(socket);
    const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "How long do refunds take after I send something back?" });
    if (!r.ack.ok) throw new Error("send failed");
    expect(await socket.emitWithAck("chat:feedback", { messageId: r.messageId, helpful: true })).toMatchObject({ ok: true });

    const { conversation } = await api<{ conversation: ConversationDetail }>(`/api/staff/conversations/${r.ack.conversationId}`);
    const reply = conversation.messages.find((m) => m.id === r.messageId)!;
    expect(reply.customerHelpful).toBe(true);
    expect(reply.grounding?.sources).toEqual(r.sources);
    expect(reply.grounding?.check?.sentences.length).toBeGreaterThan(0);
    expect(reply.grounding?.check?.sentences.filter((s) => s.sent).every((s) => r.text.includes(s.text))).toBe(true);
    const question = conversation.messages.find((m) => m.role === "customer")!;
    expect(question).toMatchObject({ grounding: null, customerHelpful: null });

    const after = await api<ProductionStats>("/api/ml/production?window=day");
    expect(after.botReplies - before.botReplies).toBe(1);
    expect(after.helpfulReplies - before.helpfulReplies).toBe(1);
    expect(after.unhelpfulReplies - before.unhelpfulReplies).toBe(0);
    expect(after.helpfulReplyShare).toBe(after.helpfulReplies / after.botReplies);
  });
});
