/**
 * Admission and queueing of the work a customer message causes.
 *
 * Admission comes first, before the message is stored: a message is refused with `busy` (retryable,
 * nothing stored) while its customer or its address (an IPv6 /64 counts as one) already has too many
 * acknowledged messages waiting for an answer, or the process has LM_QUEUE_LIMIT of them. A customer
 * identity costs nothing (a tokenless connect mints one), so the per-address cap is what stops one
 * address from filling the shared queue. An admitted message is always answered: nothing after the
 * acknowledgement refuses it for load.
 *
 * Then one FIFO queue with a concurrency limit for every generation in this process, so many customers
 * at once share the CPU fairly instead of exhausting memory; in front of it, a small queue per customer
 * (GENERATIONS_PER_CUSTOMER, default 1) so one customer's messages are answered one after the other:
 * their message is stored and acknowledged as usual, and its reply is generated after their previous
 * one (they see "typing", queued, meanwhile).
 *
 * Degrade, don't queue: before a reply joins the queues, its expected wait is estimated
 * (`degradeDecision`); past LM_DEGRADE_WAIT_MS it is answered from its facts at once instead.
 */
import PQueue from "p-queue";
import { config } from "../config";
import { metrics } from "../metrics";
import { shared } from "../process";
import { ErrorCode, type ChatError } from "../protocol/errors";

export function generationQueue(): PQueue {
  return shared("__loopdeskGenerationQueue", () => new PQueue({ concurrency: config().LM_BATCH_SIZE }));
}

/** What a refused client is told to wait before resending: about one reply's generation. */
export const BUSY_RETRY_AFTER_MS = 5000;

/** Admitted turns not yet finished: in all, per customer and per address key. */
const pendingTurns = { total: 0, byCustomer: new Map<string, number>(), byAddress: new Map<string, number>() };

export type Admission = { ok: true; release: () => void } | { ok: false; error: ChatError };

const busy = (message: string): Admission => ({
  ok: false,
  error: { code: ErrorCode.busy, message, retryable: true, retryAfterMs: BUSY_RETRY_AFTER_MS },
});

/**
 * Admits one turn (a message to answer) for a customer from an address key (`addressKey`), or refuses
 * it with `busy`. The caller releases an admitted turn once it is answered (or has failed).
 */
export function admitTurn(customerId: string, address: string): Admission {
  const cfg = config();
  const byCustomer = pendingTurns.byCustomer.get(customerId) ?? 0;
  const byAddress = pendingTurns.byAddress.get(address) ?? 0;
  if (pendingTurns.total >= cfg.LM_QUEUE_LIMIT) return busy("We are very busy right now; please try again in a moment.");
  if (byAddress >= cfg.PENDING_TURNS_PER_ADDRESS)
    return busy("Too many messages from your network are waiting for an answer; please try again in a moment.");
  if (byCustomer >= cfg.PENDING_TURNS_PER_CUSTOMER) return busy("Your earlier messages are still being answered; please wait a moment.");
  pendingTurns.total++;
  pendingTurns.byCustomer.set(customerId, byCustomer + 1);
  pendingTurns.byAddress.set(address, byAddress + 1);
  return {
    ok: true,
    release: once(() => {
      pendingTurns.total--;
      decrement(pendingTurns.byCustomer, customerId);
      decrement(pendingTurns.byAddress, address);
    }),
  };
}

/** `release` callbacks run at most once, however often a caller's paths reach them. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** Counts drop out of the map at zero, so it only holds customers and addresses with work pending. */
function decrement(counts: Map<string, number>, key: string) {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

/** Per-customer queues, dropped as soon as they are idle so the map only holds active customers. */
const customerQueues = new Map<string, PQueue>();

/** Runs a generation once the customer has a free slot and then the shared queue one. */
export function queueGeneration<T>(customerId: string, generate: () => Promise<T>): Promise<T> {
  let queue = customerQueues.get(customerId);
  if (!queue) {
    const created = new PQueue({ concurrency: config().GENERATIONS_PER_CUSTOMER });
    created.on("idle", () => customerQueues.get(customerId) === created && customerQueues.delete(customerId));
    customerQueues.set(customerId, created);
    queue = created;
  }
  const waited = metrics().queueWait.startTimer();
  return queue.add(() =>
    generationQueue().add(async () => {
      waited();
      const started = performance.now();
      try {
        return await generate();
      } finally {
        recordGenerationMs(performance.now() - started);
      }
    }),
  );
}

/** How many recent generations' slot times the wait estimate averages. */
const RECENT_GENERATIONS = 8;

/**
 * Replies this process has decided to generate and not yet finished (running, queued, or between the
 * decision and the queue), and how long the last RECENT_GENERATIONS held a slot.
 */
const generations = { planned: 0, recentMs: [] as number[] };

function recordGenerationMs(ms: number) {
  generations.recentMs.push(ms);
  if (generations.recentMs.length > RECENT_GENERATIONS) generations.recentMs.shift();
}

export interface GenerationLoad {
  /** Replies decided to be generated and not finished. */
  ahead: number;
  /** Generation slots (LM_BATCH_SIZE). */
  concurrency: number;
  /** The mean time a recent generation held its slot; null before any finished. */
  recentGenerationMs: number | null;
}

/**
 * Whether a reply should skip the model (degrade) and its expected wait for a generation slot: the
 * generations ahead of it beyond the free slots, each holding a slot for the recent mean, the slots
 * working side by side: max(0, ahead − concurrency + 1) × recentGenerationMs ÷ concurrency. It
 * degrades when that passes `boundMs`; a bound of 0 never degrades, and neither does anything before
 * the first generation has finished (nothing to estimate from).
 */
export function degradeDecision(load: GenerationLoad, boundMs: number): { degrade: boolean; expectedWaitMs: number } {
  const waitingFor = Math.max(0, load.ahead - load.concurrency + 1);
  const expectedWaitMs = Math.round((waitingFor * (load.recentGenerationMs ?? 0)) / load.concurrency);
  return { degrade: boundMs > 0 && expectedWaitMs > boundMs, expectedWaitMs };
}

export type GenerationPlan =
  /** Generate; `release` once the generation is over (or was never queued). */
  | { generate: true; release: () => void }
  /** Answer from the facts now: the wait expected, over the bound. */
  | { generate: false; underLoad: { expectedWaitMs: number; boundMs: number } };

/** Decides, by this process's load now, whether a reply is generated or answered from its facts at once. */
export function planGeneration(): GenerationPlan {
  const cfg = config();
  const { recentMs } = generations;
  const load = {
    ahead: generations.planned,
    concurrency: cfg.LM_BATCH_SIZE,
    recentGenerationMs: recentMs.length === 0 ? null : recentMs.reduce((a, b) => a + b, 0) / recentMs.length,
  };
  const { degrade, expectedWaitMs } = degradeDecision(load, cfg.LM_DEGRADE_WAIT_MS);
  if (degrade) return { generate: false, underLoad: { expectedWaitMs, boundMs: cfg.LM_DEGRADE_WAIT_MS } };
  // Counted from the decision on, so turns deciding at the same moment see each other.
  generations.planned++;
  return { generate: true, release: once(() => generations.planned--) };
}
