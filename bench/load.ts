/**
 * `npm run bench:load`: many customers at once against a real server on loopback.
 *
 * Starts the real server on a throw-away database (bench/server-under-test.ts) with the rate limits
 * raised (every simulated customer comes from the same loopback address), then from this separate process:
 *   1. ramps up to --connections idle customers (socket.io over websocket, in batches);
 *   2. connects --chatting customers, who send in-scope questions at --rate messages per second in all
 *      (round robin) for --duration seconds, measuring per message the acknowledgement latency (send →
 *      ack) and the time to first token (send → first chat:token of its reply), and counting errors
 *      by code (refused acks, chat:error, acks missing after 10 s, replies unfinished after the drain);
 *   3. checks the database: every acknowledged message is stored exactly once (lost, duplicates) and has
 *      a complete reply.
 * --find-rate runs step 2 at rising rates up to --rate (--duration each), printing each rate's ack and
 * first-token p99, and reports the highest rate sustained: ack p99 ≤ 100 ms, no errors, and every
 * message acknowledged at that rate answered completely by the model (none degraded to quoted facts)
 * before the drain ended. The sweep goes on past a rate not sustained, to show the curve, and stops at
 * the first rate that saturates the server (ack p99 over a second, or an error). --promote registers the seed classifier again under a second version name and,
 * halfway through, promotes it with the real CLI (`loopdesk models promote … --force`), so every chat
 * in flight sees the model swap; the run reports the chats that failed meanwhile.
 *
 * --flood instead runs bench/flood.ts: one address floods the bot while --chatting customers, each from
 * an address of its own, chat for --duration seconds, with the default abuse limits (its own RESULT line).
 *
 * Bounded: at most 2,000 idle connections, 200 chatting customers, 200 messages/s, 300 s per phase.
 * The last line:
 *
 *   RESULT connections=… chatting=… msgs_per_s=… ack_p99_ms=… ttft_p50_ms=… ttft_p99_ms=… errors=… lost=… unanswered=… degraded=…
 *
 * where connections is the customers still connected at the end (idle + chatting), msgs_per_s the rate
 * acknowledged (with --find-rate: the highest rate sustained, its ack and first-token figures), errors counts
 * every error of every phase, unanswered the acknowledged messages without a complete reply in the
 * database, and degraded those answered from their facts without the model (LM_DEGRADE_WAIT_MS).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import os from "node:os";
import { parseArgs, promisify } from "node:util";
import pg from "pg";
import type { SendAck } from "../lib/protocol/chat";
import { connectCustomer, type ChatClient } from "../tests/helpers/chat-client";
import { runFlood } from "./flood";
import { pct, type ServerUnderTest, startServerUnderTest } from "./server-under-test";

const { values: args } = parseArgs({
  options: {
    connections: { type: "string", default: "1000" },
    chatting: { type: "string", default: "20" },
    rate: { type: "string", default: "2" },
    duration: { type: "string", default: "60" },
    "find-rate": { type: "boolean", default: false },
    promote: { type: "boolean", default: false },
    "max-new-tokens": { type: "string", default: "32" },
    flood: { type: "boolean", default: false },
  },
});
const bounded = (name: string, value: string | undefined, max: number) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}]`);
  return n;
};
const IDLE = Math.floor(bounded("connections", args.connections, 2000));
const CHATTING = Math.floor(bounded("chatting", args.chatting, 200));
const RATE = bounded("rate", args.rate, 200);
const DURATION_S = bounded("duration", args.duration, 300);
const MAX_NEW_TOKENS = bounded("max-new-tokens", args["max-new-tokens"], 256);
const ACK_TARGET_MS = 100;
/** --find-rate stops at a rate whose ack p99 passes this: the server is saturated. */
const ACK_SATURATED_MS = 1000;
/** --find-rate's steps, messages per second in all. */
const SWEEP = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 40, 80, 160, 200];
const ACK_TIMEOUT_MS = 10_000;
const DRAIN_MS = 120_000;
const CONNECT_BATCH = 50;
const PROMOTED_VERSION = "seed-load-copy";
// In-scope questions (answered by the language model, not a template), varied so replies differ.
const QUESTIONS = [
  "How long does express shipping take to Germany?",
  "How do I return a kettle that I bought two weeks ago?",
  "Do you ship to Canada and how much does express shipping cost?",
  "My card was charged twice for the same order, what should I do?",
  "What is the warranty on your coffee grinders?",
  "Is the cast iron skillet oven safe?",
  "Can I change the size of the jacket in my order before it ships?",
  "Where is my order NW-482913? It was supposed to arrive yesterday.",
];

const round = (x: number) => (Number.isFinite(x) ? Math.round(x) : "nan");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sent {
  sentAt: number;
  ackMs?: number;
  messageId?: string;
  replyId?: string;
  ttftMs?: number;
  done: boolean;
}

interface Phase {
  rate: number;
  sent: Sent[];
  errors: Map<string, number>;
  elapsedS: number;
  /** Acknowledged messages without a complete reply, and those answered from their facts without the model (the database's record). */
  unanswered: number;
  degraded: number;
}

const ackMs = (phase: Phase) => phase.sent.flatMap((s) => (s.ackMs === undefined ? [] : [s.ackMs]));
const ackedIds = (phase: Phase) => phase.sent.flatMap((s) => (s.messageId ? [s.messageId] : []));

/** The rate was sustained: acks fast, nothing failed, every message answered by the model in full. */
const sustained = (phase: Phase) =>
  pct(ackMs(phase), 99) <= ACK_TARGET_MS && phase.errors.size === 0 && phase.unanswered === 0 && phase.degraded === 0;

/** Of the acknowledged messages `ids`: those without a complete reply, and those answered from their facts under load (LM_DEGRADE_WAIT_MS). */
async function replyRecord(pool: pg.Pool, ids: string[]): Promise<{ unanswered: number; degraded: number }> {
  const { rows } = await pool.query<{ unanswered: number; degraded: number }>(
    `SELECT (SELECT count(*)::int FROM "Message" c WHERE c.id = ANY($1::uuid[])
               AND NOT EXISTS (SELECT 1 FROM "Message" b WHERE b."replyToId" = c.id AND b."replyStatus" = 'complete')) AS unanswered,
            (SELECT count(*)::int FROM "Message" WHERE "replyToId" = ANY($1::uuid[]) AND decision = 'answer_degraded') AS degraded`,
    [ids],
  );
  return rows[0]!;
}

const errors = new Map<string, number>();
const countError = (phase: Phase | undefined, code: string) => {
  errors.set(code, (errors.get(code) ?? 0) + 1);
  if (phase) phase.errors.set(code, (phase.errors.get(code) ?? 0) + 1);
};

async function main() {
  const sockets: ChatClient[] = [];
  let underTest: ServerUnderTest | undefined;
  try {
    underTest = await startServerUnderTest("load", {
      LM_MAX_NEW_TOKENS: String(MAX_NEW_TOKENS),
      // Every simulated customer comes from 127.0.0.1: the per-address limits are raised, not switched off.
      RATE_LIMIT_CONNECTIONS_PER_IP: String(IDLE + CHATTING + 100),
      SOCKETS_PER_ADDRESS: String(IDLE + CHATTING + 100),
      PENDING_TURNS_PER_ADDRESS: "1000000",
      // --chatting customers stand for many: each may have many messages waiting at high rates.
      PENDING_TURNS_PER_CUSTOMER: "1000000",
      RATE_LIMIT_MESSAGES_PER_IP: "1000000",
      RATE_LIMIT_MESSAGES_PER_CUSTOMER: "1000000",
    });
    const { server, env: serverEnv } = underTest;
    const pool = new pg.Pool({ connectionString: serverEnv.DATABASE_URL, max: 2 });
    console.log(`server ${server.url}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; LM_MAX_NEW_TOKENS=${MAX_NEW_TOKENS}`);

    // 1. Idle customers.
    const rampStart = performance.now();
    let connectFailures = 0;
    for (let i = 0; i < IDLE; i += CONNECT_BATCH) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(CONNECT_BATCH, IDLE - i) }, () => connectCustomer(server.url)));
      for (const r of batch) {
        if (r.status === "fulfilled") sockets.push(r.value.socket);
        else {
          connectFailures++;
          countError(undefined, `connect:${(r.reason as { data?: { code?: string } }).data?.code ?? "failed"}`);
        }
      }
    }
    console.log(`idle: ${sockets.length} connected in ${((performance.now() - rampStart) / 1000).toFixed(1)} s, ${connectFailures} failed`);

    // 2. Chatting customers.
    const chatters = await Promise.all(Array.from({ length: CHATTING }, () => connectCustomer(server.url).then((c) => c.socket)));
    sockets.push(...chatters);
    const byMessageId = new Map<string, Sent>();
    const byReplyId = new Map<string, Sent>();
    let current: Phase | undefined;
    // A reply's first events can arrive in the same network read as the ack, before the ack's promise
    // continuation has recorded the message: they are kept here and matched when it does.
    const earlyReplies = new Map<string, { replyId: string; ttftMs?: number; done: boolean }>();
    const link = (sent: Sent, replyId: string) => {
      sent.replyId = replyId;
      byReplyId.set(replyId, sent);
    };
    for (const socket of chatters) {
      socket.on("chat:typing", ({ messageId, replyToId }) => {
        const sent = byMessageId.get(replyToId);
        if (sent && !sent.replyId) link(sent, messageId);
        else if (!sent) earlyReplies.set(replyToId, { replyId: messageId, done: false });
      });
      const early = (replyId: string) => [...earlyReplies.values()].find((e) => e.replyId === replyId);
      socket.on("chat:token", ({ messageId }) => {
        const sent = byReplyId.get(messageId);
        if (sent && sent.ttftMs === undefined) sent.ttftMs = performance.now() - sent.sentAt;
        const e = sent ? undefined : early(messageId);
        if (e && e.ttftMs === undefined) e.ttftMs = performance.now();
      });
      socket.on("chat:done", ({ messageId }) => {
        const sent = byReplyId.get(messageId);
        if (sent) sent.done = true;
        const e = sent ? undefined : early(messageId);
        if (e) e.done = true;
      });
      socket.on("chat:error", ({ code }) => countError(current, `chat:error:${code}`));
      socket.on("disconnect", (reason) => countError(current, `disconnect:${reason}`));
    }
    const conversations = new Map<ChatClient, string>();

    async function send(socket: ChatClient, phase: Phase) {
      const sent: Sent = { sentAt: performance.now(), done: false };
      phase.sent.push(sent);
      const text = QUESTIONS[Math.floor(Math.random() * QUESTIONS.length)]!;
      let ack: SendAck;
      try {
        ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("chat:send", { conversationId: conversations.get(socket), clientMessageId: randomUUID(), text });
      } catch {
        return countError(phase, "ack_timeout");
      }
      sent.ackMs = performance.now() - sent.sentAt;
      if (!ack.ok) return countError(phase, `ack:${ack.error.code}`);
      sent.messageId = ack.messageId;
      byMessageId.set(ack.messageId, sent);
      const early = earlyReplies.get(ack.messageId);
      if (early) {
        earlyReplies.delete(ack.messageId);
        link(sent, early.replyId);
        if (early.ttftMs !== undefined) sent.ttftMs = early.ttftMs - sent.sentAt;
        sent.done = early.done;
      }
      conversations.set(socket, ack.conversationId);
    }

    /** Sends at `rate` messages per second for the duration, then waits for the replies. */
    async function runPhase(rate: number): Promise<Phase> {
      const phase: Phase = { rate, sent: [], errors: new Map(), elapsedS: 0, unanswered: 0, degraded: 0 };
      current = phase;
      const total = Math.round(rate * DURATION_S);
      const start = performance.now();
      const inFlight: Promise<void>[] = [];
      let promotion: Promise<void> | undefined;
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        inFlight.push(send(chatters[i % chatters.length]!, phase));
        if (args.promote && !promotion && i >= total / 2) promotion = promoteUnderLoad(serverEnv, server.url);
      }
      await Promise.all(inFlight);
      phase.elapsedS = (performance.now() - start) / 1000;
      await promotion;
      const drainUntil = performance.now() + DRAIN_MS;
      // Every acknowledged message, also one whose reply has not even started yet (the last ones sent).
      while (phase.sent.some((s) => s.messageId && !s.done) && performance.now() < drainUntil) await sleep(200);
      for (const s of phase.sent) if (s.messageId && !s.done) countError(phase, s.replyId ? "reply_unfinished" : "no_reply");
      current = undefined;
      Object.assign(phase, await replyRecord(pool, ackedIds(phase)));
      const acks = ackMs(phase);
      const ttfts = phase.sent.flatMap((s) => (s.ttftMs === undefined ? [] : [s.ttftMs]));
      console.log(
        `rate ${rate}/s: ${phase.sent.length} sent, ${acks.length} acked; ack p50 ${round(pct(acks, 50))} ms p99 ${round(pct(acks, 99))} ms; ` +
          `ttft p50 ${round(pct(ttfts, 50))} ms p99 ${round(pct(ttfts, 99))} ms; ${phase.unanswered} unanswered, ${phase.degraded} degraded; ` +
          `errors ${JSON.stringify(Object.fromEntries(phase.errors))}${args["find-rate"] ? (sustained(phase) ? "; sustained" : "; not sustained") : ""}`,
      );
      return phase;
    }

    const phases: Phase[] = [];
    if (args["find-rate"]) {
      for (const rate of SWEEP.filter((r) => r <= RATE)) {
        const phase = await runPhase(rate);
        phases.push(phase);
        if (pct(ackMs(phase), 99) > ACK_SATURATED_MS || phase.errors.size > 0) break;
      }
    } else {
      phases.push(await runPhase(RATE));
    }

    // 3. Every acknowledged message stored exactly once.
    const acked = phases.flatMap(ackedIds);
    const { rows } = await pool.query<{ stored: number; duplicates: number }>(
      `SELECT count(DISTINCT id)::int AS stored,
              (SELECT count(*)::int FROM (SELECT 1 FROM "Message" WHERE role = 'customer' GROUP BY "conversationId", "clientMessageId" HAVING count(*) > 1) d) AS duplicates
       FROM "Message" WHERE id = ANY($1::uuid[])`,
      [acked],
    );
    // And answered: the server's own record, whatever the client saw.
    const { unanswered, degraded } = await replyRecord(pool, acked);
    await pool.end();
    const lost = acked.length - rows[0]!.stored;
    const connected = sockets.filter((s) => s.connected).length;
    console.log(
      `database: ${acked.length} acknowledged, ${rows[0]!.stored} stored, ${rows[0]!.duplicates} duplicates, ${unanswered} without a complete reply, ` +
        `${degraded} answered from the facts under load`,
    );
    console.log(`errors: ${JSON.stringify(Object.fromEntries(errors))}`);
    if (errors.size > 0) console.log(`server log (last errors):\n${server.output().split("\n").filter((l) => /"level":(50|60)/.test(l)).slice(-5).join("\n")}`);
    if (args.promote) {
      const failed = phases.reduce((n, p) => n + [...p.errors.values()].reduce((a, b) => a + b, 0), 0);
      console.log(`promotion under load: ${failed} failed chats`);
    }

    const best = args["find-rate"] ? phases.filter(sustained).at(-1) : phases[0];
    const acks = best ? ackMs(best) : [];
    const ttfts = best?.sent.flatMap((s) => (s.ttftMs === undefined ? [] : [s.ttftMs])) ?? [];
    const rate = !best ? 0 : args["find-rate"] ? best.rate : acks.length / best.elapsedS;
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0) + rows[0]!.duplicates;
    console.log(
      `RESULT connections=${connected} chatting=${CHATTING} msgs_per_s=${rate.toFixed(1)} ack_p99_ms=${round(pct(acks, 99))} ` +
        `ttft_p50_ms=${round(pct(ttfts, 50))} ttft_p99_ms=${round(pct(ttfts, 99))} errors=${errorCount} lost=${lost} ` +
        `unanswered=${unanswered} degraded=${degraded}`,
    );
  } finally {
    for (const s of sockets) s.disconnect();
    await underTest?.close();
  }
}

/**
 * Registers the seed classifier again under another version name and promotes it with the real CLI;
 * resolves once the server reports the new version.
 */
async function promoteUnderLoad(serverEnv: Record<string, string>, url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: serverEnv.DATABASE_URL, max: 1 });
  await pool.query(
    `INSERT INTO "ModelVersion" (version, path, metrics, "datasetSha256") SELECT $1, path, metrics, "datasetSha256" FROM "ModelVersion" WHERE path = 'classifier/seed' LIMIT 1`,
    [PROMOTED_VERSION],
  );
  await pool.end();
  const started = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, ["bin/loopdesk.js", "models", "promote", PROMOTED_VERSION, "--force", "--reason", "load-test"], {
    env: { ...process.env, ...serverEnv, LOOPDESK_ACTOR: "bench@load" },
  });
  while (((await (await fetch(`${url}/api/health`)).json()) as { models?: { classifier?: { version?: string } } }).models?.classifier?.version !== PROMOTED_VERSION) {
    await sleep(200);
  }
  console.log(`promoted ${PROMOTED_VERSION} under load in ${((performance.now() - started) / 1000).toFixed(1)} s: ${stdout.trim().split("\n").at(-1)}`);
}

if (args.flood) await runFlood({ legit: CHATTING, durationS: DURATION_S, maxNewTokens: MAX_NEW_TOKENS });
else await main();
process.exit(0);
