"use client";
/**
 * The customer's side of the chat protocol: keeps the token and conversation in localStorage, so a
 * reload or a dropped connection picks up where it left off, and turns events into message state.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import {
  CHAT_NAMESPACE,
  ErrorCode,
  type ChatError,
  type ChatMessage,
  type ClientToServerEvents,
  type ConversationStatus,
  type SendAck,
  type ServerToClientEvents,
} from "@/lib/protocol";

const TOKEN_KEY = "loopdesk.customerToken";
const CONVERSATION_KEY = "loopdesk.conversationId";
const ACK_TIMEOUT_MS = 10_000;

export interface UiMessage extends Omit<ChatMessage, "createdAt"> {
  /** A customer message not yet acknowledged, or a reply still being generated. */
  pending: boolean;
  queued?: boolean;
}

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function upsert(list: UiMessage[], m: UiMessage): UiMessage[] {
  const i = list.findIndex(
    (x) => x.id === m.id || (m.clientMessageId !== null && x.clientMessageId === m.clientMessageId && x.role === m.role),
  );
  if (i === -1) return [...list, m];
  const next = list.slice();
  next[i] = { ...list[i]!, ...m };
  return next;
}

const fromStored = (m: ChatMessage): UiMessage => ({ ...m, pending: m.replyStatus === "streaming" });

export function useChat() {
  const socketRef = useRef<ChatSocket | null>(null);
  const [messages, setMessages] = useState<UiMessage[]>([]);
  const [connected, setConnected] = useState(false);
  const [status, setStatus] = useState<ConversationStatus>("bot");
  const [error, setError] = useState<ChatError | null>(null);
  const [conversationId, setConversationId] = useState<string | null>(null);

  const loadHistory = useCallback((socket: ChatSocket) => {
    const id = localStorage.getItem(CONVERSATION_KEY);
    setConversationId(id);
    if (!id) return;
    socket.emit("chat:history", { conversationId: id }, (r) => {
      if (!r.ok) {
        localStorage.removeItem(CONVERSATION_KEY);
        setConversationId(null);
        setMessages([]);
        return;
      }
      setStatus(r.status);
      // Keep replies still streaming in this tab: their tokens are newer than the stored text.
      setMessages((current) => {
        let next = r.messages.map(fromStored);
        for (const m of current) if (m.pending) next = upsert(next, m);
        return next;
      });
    });
  }, []);

  useEffect(() => {
    const socket: ChatSocket = io(CHAT_NAMESPACE, {
      auth: (cb) => cb({ customerToken: localStorage.getItem(TOKEN_KEY) ?? undefined }),
    });
    socketRef.current = socket;

    socket.on("connect", () => {
      setConnected(true);
      loadHistory(socket);
    });
    socket.on("disconnect", () => setConnected(false));
    socket.on("connect_error", (err) => {
      const data = (err as Error & { data?: ChatError }).data;
      if (data?.code === ErrorCode.invalidToken) {
        localStorage.removeItem(TOKEN_KEY);
        localStorage.removeItem(CONVERSATION_KEY);
        socket.connect();
      }
    });
    socket.on("chat:session", ({ customerToken }) => localStorage.setItem(TOKEN_KEY, customerToken));
    socket.on("chat:message", (m) => {
      if (m.conversationId === localStorage.getItem(CONVERSATION_KEY)) setMessages((l) => upsert(l, fromStored(m)));
    });
    socket.on("chat:status", (p) => {
      if (p.conversationId === localStorage.getItem(CONVERSATION_KEY)) setStatus(p.status);
    });
    socket.on("chat:typing", ({ conversationId, messageId, replyToId, queued }) =>
      setMessages((l) =>
        upsert(l, { id: messageId, conversationId, role: "bot", text: l.find((x) => x.id === messageId)?.text ?? "", clientMessageId: null, replyToId, replyStatus: "streaming", pending: true, queued }),
      ),
    );
    socket.on("chat:token", ({ conversationId, messageId, text }) =>
      setMessages((l) => {
        const existing = l.find((x) => x.id === messageId);
        return upsert(l, {
          id: messageId, conversationId, role: "bot", clientMessageId: null, replyToId: existing?.replyToId ?? null,
          replyStatus: "streaming", pending: true, queued: false, text: (existing?.text ?? "") + text,
        });
      }),
    );
    socket.on("chat:done", ({ messageId, text, stopped }) =>
      setMessages((l) => l.map((x) => (x.id === messageId ? { ...x, text, pending: false, queued: false, replyStatus: stopped ? "stopped" : "complete" } : x))),
    );
    socket.on("chat:error", (e) => {
      setError({ code: e.code, message: e.message });
      if (e.messageId) setMessages((l) => l.map((x) => (x.id === e.messageId ? { ...x, pending: false, replyStatus: "failed" } : x)));
    });
    return () => {
      socket.disconnect();
    };
  }, [loadHistory]);

  const send = useCallback(async (text: string) => {
    const socket = socketRef.current;
    if (!socket) return;
    setError(null);
    const clientMessageId = crypto.randomUUID();
    const current = localStorage.getItem(CONVERSATION_KEY) ?? undefined;
    setMessages((l) => [
      ...l,
      { id: clientMessageId, conversationId: current ?? "", role: "customer", text, clientMessageId, replyToId: null, replyStatus: null, pending: true },
    ]);
    // Resending with the same clientMessageId is safe: the server stores a message once.
    for (let attempt = 0; attempt < 5; attempt++) {
      let ack: SendAck;
      try {
        ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("chat:send", { conversationId: current, clientMessageId, text });
      } catch {
        continue;
      }
      if (ack.ok) {
        localStorage.setItem(CONVERSATION_KEY, ack.conversationId);
        setConversationId(ack.conversationId);
        setMessages((l) => l.map((x) => (x.clientMessageId === clientMessageId && x.role === "customer" ? { ...x, id: ack.messageId, conversationId: ack.conversationId, pending: false } : x)));
        return;
      }
      if (ack.error.code === ErrorCode.conversationClosed || ack.error.code === ErrorCode.unknownConversation) {
        localStorage.removeItem(CONVERSATION_KEY);
      }
      setMessages((l) => l.filter((x) => x.clientMessageId !== clientMessageId));
      setError(ack.error);
      return;
    }
    setMessages((l) => l.filter((x) => x.clientMessageId !== clientMessageId));
    setError({ code: ErrorCode.unavailable, message: "Could not reach support. Check your connection and try again." });
  }, []);

  const stop = useCallback((messageId: string) => {
    socketRef.current?.emit("chat:stop", { messageId });
  }, []);

  const newConversation = useCallback(() => {
    localStorage.removeItem(CONVERSATION_KEY);
    setConversationId(null);
    setMessages([]);
    setStatus("bot");
    setError(null);
  }, []);

  return { messages, connected, status, error, conversationId, send, stop, newConversation };
}
