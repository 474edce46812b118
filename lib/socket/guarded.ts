import { log } from "../log";
import { ErrorCode, type ChatError } from "../protocol";

interface ErrorChannel {
  id: string;
  emit(event: "chat:error", error: ChatError): boolean;
}

/**
 * Runs a socket event handler so that a bad payload or a failure never breaks the connection: the
 * client always gets an answer with a stable code, and internals stay in the server log.
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
    const error = { code: ErrorCode.unavailable, message: "The service is temporarily unavailable; please retry." };
    if (answered) socket.emit("chat:error", error);
    else reply({ ok: false, error });
  }
}
