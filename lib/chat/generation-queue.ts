/**
 * One FIFO queue with a concurrency limit for every generation in this process, so many customers
 * at once share the CPU fairly instead of exhausting memory; in front of it, a small queue per customer
 * (GENERATIONS_PER_CUSTOMER, default 1) so one customer sending many messages at once cannot take
 * over the shared queue: their message is stored and acknowledged as usual, and its reply is generated
 * after their previous one (they see "typing", queued, meanwhile).
 */
import PQueue from "p-queue";
import { config } from "../config";
import { metrics } from "../metrics";
import { shared } from "../process";

export function generationQueue(): PQueue {
  return shared("__loopdeskGenerationQueue", () => new PQueue({ concurrency: config().LM_CONCURRENCY }));
}

/** True when the queue is full and a new generation should be refused as `busy`. */
export function generationQueueFull(): boolean {
  return generationQueue().size >= config().LM_QUEUE_LIMIT;
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
  return queue.add(() => generationQueue().add(() => (waited(), generate())));
}
