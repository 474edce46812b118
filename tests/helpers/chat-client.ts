/** A real socket.io client speaking the public chat protocol, for tests and benchmarks. */
import { io, type Socket } from "socket.io-client";
import { CHAT_NAMESPACE, type ChatMessage, type ClientToServerEvents, type SendAck, type SendPayload, type ServerToClientEvents } from "@/lib/protocol/chat";
import { extendReply, type ReplyPiece } from "@/lib/protocol/reply-stream";

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** `localAddress` (say 127.0.0.2) connects from another loopback address, for per-address limits. */
export async function connectCustomer(serverUrl: string, customerToken?: string, opts: { localAddress?: string } = {}): Promise<{ socket: ChatClient; token: string }> {
  const socket: ChatClient = io(`${serverUrl}${CHAT_NAMESPACE}`, {
    auth: customerToken ? { customerToken } : {},
    transports: ["websocket"],
    reconnection: false,
    ...opts,
  });
  const token = await new Promise<string>((resolve, reject) => {
    socket.once("chat:session", ({ customerToken: t }) => resolve(t));
    socket.once("connect_error", reject);
  });
  return { socket, token };
}

type Done = Parameters<ServerToClientEvents["chat:done"]>[0];

export interface Reply {
  ack: SendAck;
  messageId: string;
  tokens: string[];
  text: string;
  stopped: boolean;
  typing: boolean[];
  sources: Done["sources"];
  clarify: Done["clarify"];
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
    if (!ack.ok) return { ack, messageId: "", tokens, text: "", stopped: false, typing, sources: [], clarify: null };
    const done = await new Promise<Done>((resolve, reject) => {
      const onDone = (p: Done) => {
        if (p.messageId !== replyId) return;
        socket.off("chat:done", onDone);
        resolve(p);
      };
      socket.on("chat:done", onDone);
      socket.once("chat:error", (e) => reject(new Error(`${e.code}: ${e.message}`)));
    });
    return { ack, messageId: done.messageId, tokens, text: done.text, stopped: done.stopped, typing, sources: done.sources, clarify: done.clarify };
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

export interface ResumedReply {
  /** The reply as the first chat:history after (re)connecting had it. */
  fromHistory: ChatMessage | undefined;
  /** The text assembled from stored text and live pieces, as the browser client does it. */
  text: string;
  /** The live pieces that arrived, in order. */
  pieces: ReplyPiece[];
}

/**
 * Follows a reply the way the browser client does after (re)connecting mid-reply: the stored text from
 * chat:history, extended by live chat:token pieces by offset (extendReply), with history fetched again
 * while a gap remains. Resolves once the reply is finished (chat:done, or finished in the history).
 */
export async function resumeReply(socket: ChatClient, conversationId: string, messageId: string): Promise<ResumedReply> {
  let text = "";
  let waiting: ReplyPiece[] = [];
  const pieces: ReplyPiece[] = [];
  const extend = (base: string, more: ReplyPiece[]) => ({ text, waiting } = extendReply(base, [...waiting, ...more]));
  const onToken = (p: { messageId: string; text: string; offset: number }) => {
    if (p.messageId !== messageId) return;
    pieces.push({ offset: p.offset, text: p.text });
    extend(text, [{ offset: p.offset, text: p.text }]);
  };
  let finished = false;
  const onDone = (p: { messageId: string }) => void (p.messageId === messageId && (finished = true));
  socket.on("chat:token", onToken);
  socket.on("chat:done", onDone);
  const fromHistory = async () => {
    const h = await socket.emitWithAck("chat:history", { conversationId });
    if (!h.ok) throw new Error(`chat:history: ${h.error.code}`);
    const stored = h.messages.find((m) => m.id === messageId);
    if (stored && stored.text.length > text.length) extend(stored.text, []);
    if (stored && stored.replyStatus !== "streaming") finished = true;
    return stored;
  };
  try {
    const first = await fromHistory();
    const deadline = Date.now() + 120_000;
    while ((!finished || waiting.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      if (waiting.length > 0) await fromHistory();
    }
    if (!finished || waiting.length > 0) throw new Error("the reply did not finish");
    return { fromHistory: first, text, pieces };
  } finally {
    socket.off("chat:token", onToken);
    socket.off("chat:done", onDone);
  }
}

/** New customers for a test file, each on its own socket; `disconnectAll` in afterAll. */
export function customers(serverUrl: string) {
  const sockets: ChatClient[] = [];
  return {
    async connect(): Promise<ChatClient> {
      const { socket } = await connectCustomer(serverUrl);
      sockets.push(socket);
      return socket;
    },
    disconnectAll: () => sockets.forEach((s) => s.disconnect()),
  };
}

/** One chat of `chatAcrossSwap`: when it ran, whether it was answered, the customer's message and the reply. */
export interface TimedChat {
  start: number;
  end: number;
  ok: boolean;
  messageId: string;
  replyId: string;
}

/**
 * Chats on `socket` back to back (`pauseMs` apart: a customer's pace) while a model is swapped, until one
 * has started after the moment given to `finish`, which resolves when that chat is done.
 */
export function chatAcrossSwap(socket: ChatClient, text: string, pauseMs = 0) {
  const chats: TimedChat[] = [];
  let swappedAt = 0;
  const chatting = (async () => {
    for (;;) {
      const start = Date.now();
      const reply = await sendAndWait(socket, { clientMessageId: crypto.randomUUID(), text });
      const messageId = reply.ack.ok ? reply.ack.messageId : "";
      chats.push({ start, end: Date.now(), ok: reply.ack.ok && reply.text.length > 0, messageId, replyId: reply.messageId });
      if (swappedAt && start > swappedAt) return;
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    chats,
    finish: async (at: number) => {
      swappedAt = at;
      await chatting;
    },
  };
}
