/**
 * The language model served from a process of its own (lib/models/lm-process.ts), with the real
 * stock model: greedy replies equal the in-process model's on fixed prompts; Stop and the caller's
 * own stopper reach the running generation; a crash of the model's process (SIGKILL mid-reply) fails
 * only that reply, through the real turn pipeline and Postgres (chat:error, reply marked failed), and
 * the next message is answered by a new process; dispose ends the process. The registry is replaced at its seam as in
 * generation-failure.test.ts (fake encoder, knowledge and classifier) so the turn uses this test's model.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { recordingIo } from "../helpers/fake-registry";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { GenerationStopper, loadLanguageModelInProcess, STOCK_LM_DIR, type ChatTurn, type LanguageModel } from "@/lib/models/lm";
import { loadLanguageModel, type ProcessLanguageModel } from "@/lib/models/lm-process";

process.env.DATABASE_URL = inject("databaseUrl");

const served = vi.hoisted(() => ({ lm: undefined as unknown as import("@/lib/models/lm").LanguageModel }));
vi.mock("@/lib/models/registry", async () => (await import("../helpers/fake-registry")).fakeRegistry(() => served.lm));

const MODEL_DIR = path.resolve("models", STOCK_LM_DIR);
const FACTS = "Facts:\n- Standard shipping takes 3-5 business days.\n- Express shipping takes 1-2 business days and costs 9.99 EUR.";
const PROMPTS: ChatTurn[][] = [
  [{ role: "system", content: `You are a helpful customer support assistant. Answer from the facts only.\n${FACTS}` }, { role: "user", content: "How long does shipping take?" }],
  [{ role: "system", content: `You are a helpful customer support assistant. Answer from the facts only.\n${FACTS}` }, { role: "user", content: "How much does express shipping cost?" }],
  [{ role: "user", content: "Write a short poem about a kettle." }],
];

let inProcess: LanguageModel;
let lm: ProcessLanguageModel;
const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 1 });

beforeAll(async () => {
  [inProcess, lm] = await Promise.all([loadLanguageModelInProcess(MODEL_DIR), loadLanguageModel(MODEL_DIR)]);
});
afterAll(async () => {
  await Promise.all([inProcess?.dispose(), lm?.dispose()]);
  await pool.end();
});

const generate = (model: LanguageModel, turns: ChatTurn[], opts: { maxNewTokens: number; stopper?: GenerationStopper; enough?: GenerationStopper; onText?: (piece: string) => void }) =>
  model.generate(turns, { stopper: new GenerationStopper(), onText: () => {}, ...opts });

describe("the language model in its own process", () => {
  it("writes the same greedy replies as the model in this process, streamed in the same pieces", async () => {
    for (const turns of PROMPTS) {
      const pieces = { here: [] as string[], there: [] as string[] };
      const here = await generate(inProcess, turns, { maxNewTokens: 32, onText: (p) => pieces.here.push(p) });
      const there = await generate(lm, turns, { maxNewTokens: 32, onText: (p) => pieces.there.push(p) });
      expect(there.text.length).toBeGreaterThan(0);
      expect({ text: there.text, tokens: there.tokenCount, stopped: there.stopped }).toEqual({ text: here.text, tokens: here.tokenCount, stopped: false });
      expect(pieces.there).toEqual(pieces.here);
    }
    const answer = "Standard shipping takes 3-5 business days.";
    const [lossHere, lossThere] = [await inProcess.answerLoss(PROMPTS[0]!, answer), await lm.answerLoss(PROMPTS[0]!, answer)];
    expect(lossThere.tokens).toBe(lossHere.tokens);
    expect(lossThere.nll).toBeCloseTo(lossHere.nll, 3);
    expect(lm.countTokens(answer)).toBe(inProcess.countTokens(answer));
  });

  it("stops at the customer's Stop, and at the caller's own stopper, within a token or two", async () => {
    const full = await generate(lm, PROMPTS[2]!, { maxNewTokens: 64 });
    expect(full.tokenCount).toBeGreaterThan(20);
    for (const which of ["stopper", "enough"] as const) {
      const stoppers = { stopper: new GenerationStopper(), enough: new GenerationStopper() };
      let piecesAfterStop = 0;
      const result = await generate(lm, PROMPTS[2]!, {
        maxNewTokens: 64,
        ...stoppers,
        onText: () => {
          if (stoppers[which].interrupted) piecesAfterStop++;
          else stoppers[which].interrupt();
        },
      });
      expect(result.stopped).toBe(which === "stopper");
      expect(piecesAfterStop).toBeLessThanOrEqual(2);
      expect(result.tokenCount).toBeLessThan(8);
      expect(full.text.startsWith(result.text)).toBe(true);
    }
    // Stopped before it started (a Stop while the reply was queued): nothing is generated.
    const stopper = new GenerationStopper();
    stopper.interrupt();
    expect(await generate(lm, PROMPTS[2]!, { maxNewTokens: 64, stopper })).toMatchObject({ text: "", tokenCount: 0, stopped: true });
  });
});

async function customerTurn(text: string) {
  const { runCustomerTurn } = await import("@/lib/chat/turn");
  const { io, sent } = recordingIo();
  const acks: { ok: boolean; messageId?: string }[] = [];
  await runCustomerTurn(io, randomUUID(), { clientMessageId: randomUUID(), text }, (a) => acks.push(a));
  expect(acks).toEqual([expect.objectContaining({ ok: true })]);
  const { rows } = await pool.query(`SELECT text, "replyStatus", "modelVersion" FROM "Message" WHERE "replyToId" = $1`, [acks[0]!.messageId]);
  return { sent, reply: rows[0] as { text: string; replyStatus: string; modelVersion: string } };
}

describe("a crash of the model's process", () => {
  it("fails the reply it was writing (chat:error, marked failed); a new process answers the next message", async () => {
    const crashed = lm.processId()!;
    let killed = false;
    // The real model, killed (SIGKILL, as the kernel's OOM killer would) once its first text has arrived: mid-reply.
    served.lm = {
      ...lm,
      generate: (turns, opts) =>
        lm.generate(turns, {
          ...opts,
          onText: (piece) => {
            if (!killed) process.kill(crashed, "SIGKILL");
            killed = true;
            opts.onText(piece);
          },
        }),
    };
    const failed = await customerTurn("How long does shipping take?");
    expect(killed).toBe(true);
    expect(failed.sent.find((e) => e.event === "chat:error")?.payload).toMatchObject({ code: "generation_failed" });
    expect(failed.sent.some((e) => e.event === "chat:done")).toBe(false);
    expect(failed.reply).toMatchObject({ text: "", replyStatus: "failed" });

    served.lm = lm;
    const answered = await customerTurn("How long does shipping take?");
    expect(answered.sent.some((e) => e.event === "chat:error")).toBe(false);
    expect(answered.sent.find((e) => e.event === "chat:done")?.payload).toMatchObject({ stopped: false });
    expect(answered.reply.replyStatus).toBe("complete");
    expect(answered.reply.text.length).toBeGreaterThan(0);
    expect(lm.processId()).toBeDefined();
    expect(lm.processId()).not.toBe(crashed);
  });
});

describe("dispose", () => {
  it("ends the model's process (a replaced version's, once its last reply is done)", async () => {
    const pid = lm.processId()!;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await lm.dispose();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    await expect(generate(lm, PROMPTS[0]!, { maxNewTokens: 4 })).rejects.toThrow(/disposed/);
  });
});
