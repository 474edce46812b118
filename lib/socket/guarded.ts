import { isDatabaseUnavailable } from "../db/queries";
import { log } from "../log";
import { ErrorCode, type ChatError } from "../protocol/errors";

interface ErrorChannel {
  id: string;
  emit(event: "chat:error", error: ChatError): boolean;
}

/**
 * Runs a socket event handler so that a bad payload or a failure never breaks the connection: the
 * client always gets an answer with a stable code (`unavailable`, retryable, while the database is
 * down), and internals stay in the server log.
 */
export async function guarded<R>(
  socket: ErrorChannel,
  ack: unknown,
  handler: (reply: (r: R | { ok: false; error: ChatError }) => void) => Promise<void>,
): Promise<void> {
  let answered = false;
  const reply = (r: R | { ok: false; error: ChatError }) => {
    if (answered) return;
    answered = true;
    if (typeof ack === "function") ack(r);
  };
  try {
    await handler(reply);
  } catch (err) {
    log.error({ err, socket: socket.id }, "socket event failed");
    // A database outage is worth retrying (resends are idempotent); anything else is our fault.
    const error: ChatError = isDatabaseUnavailable(err)
      ? { code: ErrorCode.unavailable, message: "The service is temporarily unavailable; please retry.", retryable: true }
      : { code: ErrorCode.internal, message: "Something went wrong on our side." };
    if (answered) socket.emit("chat:error", error);
    else reply({ ok: false, error });
  }
}

interface AnyEventSocket extends ErrorChannel {
  onAny(listener: (event: string, ...args: unknown[]) => void): unknown;
}

/** Answers events the namespace does not have with `unknown_event` (to the acknowledgement if there is one). */
export function refuseUnknownEvents(socket: AnyEventSocket, known: readonly string[]): void {
  socket.onAny((event, ...args) => {
    if (known.includes(event)) return;
    const error: ChatError = { code: ErrorCode.unknownEvent, message: "Unknown event." };
    const ack = args.at(-1);
    if (typeof ack === "function") ack({ ok: false, error });
    else socket.emit("chat:error", error);
  });
}
