/**
 * One FIFO queue with a concurrency limit for every generation in this process, so many customers
 * at once share the CPU fairly instead of exhausting memory.
 */
import PQueue from "p-queue";
import { config } from "../config";

const g = globalThis as { __loopdeskGenerationQueue?: PQueue };

export function generationQueue(): PQueue {
  g.__loopdeskGenerationQueue ??= new PQueue({ concurrency: config().LM_CONCURRENCY });
  return g.__loopdeskGenerationQueue;
}

/** True when the queue is full and a new generation should be refused as `busy`. */
export function generationQueueFull(): boolean {
  return generationQueue().size >= config().LM_QUEUE_LIMIT;
}
