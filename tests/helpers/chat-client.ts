/** A real socket.io client speaking the public chat protocol, for tests and benchmarks. */
import { io, type Socket } from "socket.io-client";
import { CHAT_NAMESPACE, type ClientToServerEvents, type SendAck, type SendPayload, type ServerToClientEvents } from "@/lib/protocol";

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export async function connectCustomer(serverUrl: string, customerToken?: string): Promise<{ socket: ChatClient; token: string }> {
  const socket: ChatClient = io(`${serverUrl}${CHAT_NAMESPACE}`, {
    auth: customerToken ? { customerToken } : {},
    transports: ["websocket"],
    reconnection: false,
  });
  const token = await new Promise<string>((resolve, reject) => {
    socket.once("chat:session", ({ customerToken: t }) => resolve(t));
    socket.once("connect_error", reject);
  });
  return { socket, token };
}

export interface Reply {
  ack: SendAck;
  messageId: string;
  tokens: string[];
  text: string;
  stopped: boolean;
  typing: boolean[];
}

/** Sends a message and collects the reply's events until chat:done (or chat:error). */
export async function sendAndWait(
  socket: ChatClient,
  payload: SendPayload,
  opts: { onToken?: (messageId: string, text: string) => void } = {},
): Promise<Reply> {
  const tokens: string[] = [];
  const typing: boolean[] = [];
  let replyId: string | undefined;
  const onTyping = (p: { messageId: string; queued: boolean }) => {
    replyId ??= p.messageId;
    if (p.messageId === replyId) typing.push(p.queued);
  };
  const onToken = (p: { messageId: string; text: string }) => {
    if (p.messageId !== replyId) return;
    tokens.push(p.text);
    opts.onToken?.(p.messageId, p.text);
  };
  socket.on("chat:typing", onTyping);
  socket.on("chat:token", onToken);
  try {
    const ack = await socket.emitWithAck("chat:send", payload);
    if (!ack.ok) return { ack, messageId: "", tokens, text: "", stopped: false, typing };
    const done = await new Promise<{ messageId: string; text: string; stopped: boolean }>((resolve, reject) => {
      const onDone = (p: { messageId: string; text: string; stopped: boolean }) => {
        if (p.messageId !== replyId) return;
        socket.off("chat:done", onDone);
        resolve(p);
      };
      socket.on("chat:done", onDone);
      socket.once("chat:error", (e) => reject(new Error(`${e.code}: ${e.message}`)));
    });
    return { ack, messageId: done.messageId, tokens, text: done.text, stopped: done.stopped, typing };
  } finally {
    socket.off("chat:typing", onTyping);
    socket.off("chat:token", onToken);
  }
}

/** Resolves with the first `event` payload that matches, or rejects after `ms`. */
export function nextEvent<T>(socket: { on: Function; off: Function }, event: string, match: (p: T) => boolean = () => true, ms = 60_000): Promise<T> {
  const s = socket as { on: (e: string, f: (p: T) => void) => void; off: (e: string, f: (p: T) => void) => void };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.off(event, on);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const on = (p: T) => {
      if (!match(p)) return;
      clearTimeout(timer);
      s.off(event, on);
      resolve(p);
    };
    s.on(event, on);
  });
}
