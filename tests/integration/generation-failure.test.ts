/**
 * A reply whose generation fails: the customer gets chat:error and their stored message stays.
 * Real Postgres and the real turn pipeline; the language model is replaced at its seam by one that
 * throws, since the real one cannot be made to fail on demand.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { recordingIo } from "../helpers/fake-registry";
import { afterAll, describe, expect, inject, it, vi } from "vitest";

process.env.DATABASE_URL = inject("databaseUrl");

// Retrieval succeeds (tests/helpers/fake-registry.ts), generation fails.
const brokenLm = vi.hoisted(() => ({
  id: "broken",
  version: "broken@1",
  countTokens: (t: string) => t.length,
  generate: async () => {
    throw new Error("onnxruntime: out of memory");
  },
}));
vi.mock("@/lib/models/registry", async () => (await import("../helpers/fake-registry")).fakeRegistry(() => brokenLm as unknown as import("@/lib/models/lm").LanguageModel));

const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 1 });
afterAll(() => pool.end());

describe("a generation that fails", () => {
  it("sends chat:error, keeps the customer's message and marks the reply failed", async () => {
    const { runCustomerTurn } = await import("@/lib/chat/turn");
    const { io, sent } = recordingIo();
    const acks: unknown[] = [];
    await runCustomerTurn(io, randomUUID(), { clientMessageId: randomUUID(), text: "How long does shipping take?" }, (a) => acks.push(a));

    expect(acks).toEqual([expect.objectContaining({ ok: true })]);
    const { messageId } = acks[0] as { messageId: string };
    const error = sent.find((e) => e.event === "chat:error");
    expect(error?.payload).toMatchObject({ code: "generation_failed" });
    expect(JSON.stringify(error?.payload)).not.toMatch(/onnxruntime|memory/); // no internals to the customer

    const { rows } = await pool.query(`SELECT role, text, "replyStatus" FROM "Message" WHERE id = $1 OR "replyToId" = $1 ORDER BY "createdAt"`, [messageId]);
    expect(rows).toEqual([
      { role: "customer", text: "How long does shipping take?", replyStatus: null },
      { role: "bot", text: "", replyStatus: "failed" },
    ]);
  });
});
