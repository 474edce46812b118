/**
 * `npm run bench:load -- --flood`: one address floods the bot while legitimate customers chat.
 *
 * The server runs with the default abuse limits (only the language model's reply length is set). From
 * this process:
 *   - the flooding address (127.0.0.2) mints customers as fast as the server lets it: each connects
 *     without a token, sends one in-scope question and keeps its socket open, for --duration seconds;
 *   - --chatting legitimate customers, each from an address of its own (127.0.0.10, .11, …), ask a
 *     question, wait for the reply, pause a second and ask again, for the same time.
 * It reports what the legitimate customers saw: replies answered, `busy` refusals, other errors,
 * acknowledged messages left without an answer, and time to first token (send → first chat:token); and
 * what the flood got through. The last line:
 *
 *   RESULT flood legit_sent=… legit_answered=… legit_busy=… legit_errors=… legit_unanswered=… ttft_p50_ms=… ttft_p99_ms=… flood_sockets=… flood_acked=… flood_refused=…
 */
import { randomUUID } from "node:crypto";
import { ErrorCode } from "../lib/protocol/errors";
import { connectCustomer, sendAndWait, type ChatClient } from "../tests/helpers/chat-client";
import { pct, startServerUnderTest } from "./server-under-test";

const FLOOD_ADDRESS = "127.0.0.2";
const legitAddress = (i: number) => `127.0.0.${10 + i}`;
/** Parallel minting loops of the flooding address, and their pause between attempts. */
const FLOOD_WORKERS = 10;
const FLOOD_PAUSE_MS = 100;
const REPLY_TIMEOUT_MS = 120_000;
const QUESTION = "How long does express shipping take to Germany?";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number) => (Number.isFinite(x) ? Math.round(x) : "nan");
const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);

export async function runFlood(opts: { legit: number; durationS: number; maxNewTokens: number }): Promise<void> {
  const underTest = await startServerUnderTest("flood", { LM_MAX_NEW_TOKENS: String(opts.maxNewTokens) });
  const sockets: ChatClient[] = [];
  try {
    const { server } = underTest;
    console.log(`server ${server.url}; flood from ${FLOOD_ADDRESS}, ${opts.legit} customers from ${legitAddress(0)}…; ${opts.durationS} s; LM_MAX_NEW_TOKENS=${opts.maxNewTokens}`);
    const until = performance.now() + opts.durationS * 1000;

    const flood = { sockets: 0, acked: 0, refused: new Map<string, number>() };
    const floodWorker = async () => {
      while (performance.now() < until) {
        await sleep(FLOOD_PAUSE_MS);
        const c = await connectCustomer(server.url, undefined, { localAddress: FLOOD_ADDRESS }).catch((err: Error & { data?: { code: string } }) => {
          count(flood.refused, `connect:${err.data?.code ?? "engine"}`);
          return null;
        });
        if (!c) continue;
        sockets.push(c.socket);
        flood.sockets++;
        const ack = await c.socket.timeout(10_000).emitWithAck("chat:send", { clientMessageId: randomUUID(), text: QUESTION }).catch(() => null);
        if (ack?.ok) flood.acked++;
        else count(flood.refused, `send:${ack ? ack.error.code : "ack_timeout"}`);
      }
    };

    const legit = { sent: 0, answered: 0, busy: 0, unanswered: 0, errors: new Map<string, number>(), ttfts: [] as number[] };
    const legitCustomer = async (i: number) => {
      const { socket } = await connectCustomer(server.url, undefined, { localAddress: legitAddress(i) });
      sockets.push(socket);
      let conversationId: string | undefined;
      while (performance.now() < until) {
        const sentAt = performance.now();
        let first: number | undefined;
        legit.sent++;
        const timeout = sleep(REPLY_TIMEOUT_MS).then(() => "timeout" as const);
        const reply = await Promise.race([
          sendAndWait(socket, { conversationId, clientMessageId: randomUUID(), text: QUESTION }, { onToken: () => (first ??= performance.now()) }).catch(
            (err: Error) => err,
          ),
          timeout,
        ]);
        if (reply === "timeout") legit.unanswered++;
        else if (reply instanceof Error) {
          legit.unanswered++; // acknowledged, then an error instead of the answer
          count(legit.errors, `after_ack:${reply.message.split(":")[0]}`);
        } else if (!reply.ack.ok) {
          if (reply.ack.error.code === ErrorCode.busy) legit.busy++;
          else count(legit.errors, reply.ack.error.code);
          await sleep(reply.ack.error.retryAfterMs ?? 1000);
          continue;
        } else {
          legit.answered++;
          conversationId = reply.ack.conversationId;
          if (first !== undefined) legit.ttfts.push(first - sentAt);
        }
        await sleep(1000);
      }
    };

    await Promise.all([...Array.from({ length: FLOOD_WORKERS }, floodWorker), ...Array.from({ length: opts.legit }, (_, i) => legitCustomer(i))]);
    const errors = [...legit.errors.values()].reduce((a, b) => a + b, 0);
    const refused = [...flood.refused.values()].reduce((a, b) => a + b, 0);
    console.log(`flood: ${flood.sockets} customers minted, ${flood.acked} messages acknowledged, refused ${JSON.stringify(Object.fromEntries(flood.refused))}`);
    console.log(
      `legitimate: ${legit.sent} sent, ${legit.answered} answered, ${legit.busy} busy, ${legit.unanswered} acknowledged and unanswered, errors ${JSON.stringify(Object.fromEntries(legit.errors))}; ` +
        `ttft p50 ${round(pct(legit.ttfts, 50))} ms p99 ${round(pct(legit.ttfts, 99))} ms`,
    );
    console.log(
      `RESULT flood legit_sent=${legit.sent} legit_answered=${legit.answered} legit_busy=${legit.busy} legit_errors=${errors} legit_unanswered=${legit.unanswered} ` +
        `ttft_p50_ms=${round(pct(legit.ttfts, 50))} ttft_p99_ms=${round(pct(legit.ttfts, 99))} flood_sockets=${flood.sockets} flood_acked=${flood.acked} flood_refused=${refused}`,
    );
  } finally {
    for (const s of sockets) s.disconnect();
    await underTest.close();
  }
}
