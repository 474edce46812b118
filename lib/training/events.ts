/**
 * Live training-run events across processes: the worker (or the CLI) publishes each event with
 * NOTIFY, and every web server relays them to the `/ml` sockets watching the run.
 */
import { db } from "../db/client";
import { listen } from "../db/listen";
import { log } from "../log";
import type { RunEvent } from "../protocol/ml";

export const RUN_EVENTS_CHANNEL = "loopdesk_training_events";
/** Asks whichever worker executes a run to stop it; the payload is the run id. */
export const RUN_CANCEL_CHANNEL = "loopdesk_training_cancel";
/** NOTIFY payloads must stay under 8,000 bytes. */
const MAX_PAYLOAD_BYTES = 7_000;

export async function publishRunEvent(event: RunEvent): Promise<void> {
  let payload = JSON.stringify(event);
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES && event.type === "log") {
    payload = JSON.stringify({ ...event, line: event.line.slice(0, 1000) + " …" });
  }
  try {
    await db().$executeRaw`SELECT pg_notify(${RUN_EVENTS_CHANNEL}, ${payload})`;
  } catch (err) {
    // Live events are a convenience: the run row holds the truth, and pages reload it.
    log.warn({ err, runId: event.runId }, "could not publish a training event");
  }
}

export function subscribeRunEvents(onEvent: (e: RunEvent) => void) {
  return listen(RUN_EVENTS_CHANNEL, (payload) => {
    if (payload === "") return; // a (re)connect: nothing to relay
    try {
      onEvent(JSON.parse(payload) as RunEvent);
    } catch (err) {
      log.warn({ err }, "malformed training event");
    }
  });
}

export async function publishCancel(runId: string): Promise<void> {
  await db().$executeRaw`SELECT pg_notify(${RUN_CANCEL_CHANNEL}, ${runId})`;
}
