import { isDatabaseUnavailable } from "../db/retry";
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

/** A token bucket: `burst` events at once, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private at = Date.now();
  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token: 0 when one was there, else the milliseconds until one will be. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

interface MiddlewareSocket extends ErrorChannel {
  use(fn: (event: [string, ...unknown[]], next: (err?: Error) => void) => void): unknown;
}

/**
 * Runs before every event handler of a socket: with a bucket, an event beyond it is answered
 * `rate_limited` (with `retryAfterMs`) before any work is done; an event the namespace does not have
 * is answered `unknown_event`. Each to the acknowledgement if there is one, else as `chat:error`.
 */
export function guardEvents(socket: MiddlewareSocket, known: readonly string[], bucket?: TokenBucket): void {
  socket.use(([event, ...args], next) => {
    const answer = (error: ChatError) => {
      const ack = args.at(-1);
      if (typeof ack === "function") ack({ ok: false, error });
      else socket.emit("chat:error", error);
    };
    const waitMs = bucket?.take() ?? 0;
    if (waitMs > 0) {
      return answer({ code: ErrorCode.rateLimited, message: `Too many requests; please try again in ${Math.ceil(waitMs / 1000)} s.`, retryAfterMs: waitMs });
    }
    if (!known.includes(event)) return answer({ code: ErrorCode.unknownEvent, message: "Unknown event." });
    next();
  });
}
