"use client";
/**
 * The customer's side of the chat protocol: keeps the token and conversation in localStorage, so a
 * reload or a dropped connection picks up where it left off, and turns events into message state.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { ErrorCode, type ChatError } from "@/lib/protocol/errors";
import {
  CHAT_NAMESPACE,
  type ChatMessage,
  type ClarifyAck,
  type ClientToServerEvents,
  type ConversationStatus,
  type EmailAck,
  type FeedbackAck,
  type HistoryAck,
  type RateAck,
  type SendAck,
  type ServerToClientEvents,
} from "@/lib/protocol/chat";
import { WaitingPieces, type ReplyPiece } from "@/lib/protocol/reply-stream";
import { newClientMessageId } from "@/lib/client-message-id";

const TOKEN_KEY = "loopdesk.customerToken";
const CONVERSATION_KEY = "loopdesk.conversationId";
const ACK_TIMEOUT_MS = 10_000;
/** A send refused with a retryable error (the service is briefly down) is tried again after n × this. */
const RETRY_DELAY_MS = 2000;
/** A reply with a gap in it (tokens missed while disconnected) is fetched again from history after this. */
const GAP_REFETCH_MS = 500;
/** Typing events go out at most this often while the customer types… */
const TYPING_SEND_MS = 1500;
/** …and an agent counts as typing until this long after their last one. */
const TYPING_SHOW_MS = 4000;
/** What the customer sees when an event got no acknowledgement. */
const UNREACHABLE: ChatError = { code: ErrorCode.unavailable, message: "Could not reach support. Check your connection and try again." };

export interface UiMessage extends Omit<ChatMessage, "createdAt" | "sources" | "clarify" | "helpful">, Partial<Pick<ChatMessage, "sources" | "clarify" | "helpful">> {
  /** A customer message not yet acknowledged, or a reply still being generated. */
  pending: boolean;
  queued?: boolean;
}

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type KeyValueStore = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/**
 * localStorage when the browser lets this document use it, else memory for the page's lifetime.
 * In the widget's third-party iframe, browsers that block third-party storage (Safari, Brave,
 * Chrome with third-party cookies blocked, a host page with an opaque origin) throw on any access.
 */
let store: KeyValueStore | undefined;
function storage(): KeyValueStore {
  if (store) return store;
  try {
    const probe = "loopdesk.probe";
    window.localStorage.setItem(probe, "1");
    window.localStorage.removeItem(probe);
    store = window.localStorage;
  } catch {
    const memory = new Map<string, string>();
    store = {
      getItem: (k) => memory.get(k) ?? null,
      setItem: (k, v) => void memory.set(k, v),
      removeItem: (k) => void memory.delete(k),
    };
  }
  return store;
}

/**
 * Makes this browser the customer of a follow-up email's link and opens its conversation: the chat then
 * connects as that customer (the link's page verified it and signed the token).
 */
export function adoptConversation(customerToken: string, conversationId: string): void {
  storage().setItem(TOKEN_KEY, customerToken);
  storage().setItem(CONVERSATION_KEY, conversationId);
}

const sameMessage = (a: UiMessage, b: UiMessage) =>
  a.id === b.id || (b.clientMessageId !== null && a.clientMessageId === b.clientMessageId && a.role === b.role);

function upsert(list: UiMessage[], m: UiMessage): UiMessage[] {
  const i = list.findIndex((x) => sameMessage(x, m));
  if (i === -1) return [...list, m];
  const next = list.slice();
  next[i] = { ...list[i]!, ...m };
  return next;
}

const fromStored = (m: ChatMessage): UiMessage => ({ ...m, pending: m.replyStatus === "streaming" });

/**
 * The stored history (the newest page) wins, except where this tab knows more: older pages it loaded
 * ("Show earlier messages"), messages newer than the query, and a reply the database still has as
 * streaming, whose text is the longer of the two (both are prefixes of the reply) extended by the live
 * pieces that were waiting for it.
 */
function mergeHistory(
  stored: UiMessage[],
  current: UiMessage[],
  conversationId: string,
  extend: (messageId: string, text: string) => string,
): UiMessage[] {
  const firstOnPage = current.findIndex((m) => stored.some((s) => sameMessage(s, m)));
  let next = [...current.slice(0, Math.max(firstOnPage, 0)).filter((m) => m.conversationId === conversationId), ...stored];
  for (const m of current) {
    if (m.conversationId !== conversationId && m.conversationId !== "") continue;
    const s = stored.find((x) => sameMessage(x, m));
    if (!s) next = upsert(next, m);
    else if (s.role === "bot" && s.replyStatus === "streaming") {
      next = upsert(next, { ...m, text: extend(m.id, s.text.length >= m.text.length ? s.text : m.text) });
    }
  }
  return next;
}

export function useChat() {
  const socketRef = useRef<ChatSocket | null>(null);
  /** This tab's conversation: another tab's "New conversation" must not switch it underneath. */
  const conversationRef = useRef<string | null>(null);
  /** Sends go one at a time, so a second message waits for the conversation the first one opens. */
  const sendChain = useRef<Promise<unknown>>(Promise.resolve());
  const [messages, setMessages] = useState<UiMessage[]>([]);
  const [connected, setConnected] = useState(false);
  const [status, setStatus] = useState<ConversationStatus>("bot");
  const [error, setError] = useState<ChatError | null>(null);
  const [conversationId, setConversationId] = useState<string | null>(null);
  /** Where the page before the loaded messages starts (`chat:history`'s `olderCursor`); null at the first message. */
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  /** Whether older pages were loaded: a history refetch then keeps them and their cursor. */
  const loadedOlder = useRef(false);
  /** The customer's rating of this (closed) conversation, once given. */
  const [rating, setRating] = useState<number | null>(null);
  /** The customer left an email address here: a closed conversation still takes their reply (it reopens). */
  const [emailFollowUp, setEmailFollowUp] = useState(false);
  /** The agent typing right now, if any. */
  const [agentTyping, setAgentTyping] = useState<string | null>(null);
  const agentTypingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const lastTypingSent = useRef(0);
  const waitingPieces = useRef(new WaitingPieces());
  const gapRefetch = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const extendText = useCallback(
    (messageId: string, text: string, more: ReplyPiece[] = []) => waitingPieces.current.extend(messageId, text, more),
    [],
  );

  const setConversation = useCallback((id: string | null) => {
    conversationRef.current = id;
    if (id) storage().setItem(CONVERSATION_KEY, id);
    else storage().removeItem(CONVERSATION_KEY);
    setConversationId(id);
  }, []);

  const loadHistory = useCallback(
    (socket: ChatSocket) => {
      const id = conversationRef.current ?? storage().getItem(CONVERSATION_KEY);
      conversationRef.current = id;
      setConversationId(id);
      if (!id) return;
      socket.emit("chat:history", { conversationId: id }, (r) => {
        if (conversationRef.current !== id) return; // the customer started another conversation meanwhile
        if (!r.ok) {
          setConversation(null);
          setMessages([]);
          setStatus("bot");
          setRating(null);
          setEmailFollowUp(false);
          setOlderCursor(null);
          return;
        }
        setStatus(r.status);
        setRating(r.rating ?? null);
        setEmailFollowUp(r.emailFollowUp);
        if (!loadedOlder.current) setOlderCursor(r.olderCursor);
        setMessages((current) => mergeHistory(r.messages.map(fromStored), current, id, extendText));
      });
    },
    [setConversation, extendText],
  );

  useEffect(() => {
    const socket: ChatSocket = io(CHAT_NAMESPACE, {
      auth: (cb) => cb({ customerToken: storage().getItem(TOKEN_KEY) ?? undefined }),
    });
    socketRef.current = socket;
    const ours = (id: string) => id === conversationRef.current;

    socket.on("connect", () => {
      setConnected(true);
      loadHistory(socket);
    });
    socket.on("disconnect", () => setConnected(false));
    socket.on("connect_error", (err) => {
      const data = (err as Error & { data?: ChatError }).data;
      if (data?.code === ErrorCode.invalidToken) {
        storage().removeItem(TOKEN_KEY);
        storage().removeItem(CONVERSATION_KEY);
        conversationRef.current = null;
        socket.connect();
      }
    });
    socket.on("chat:session", ({ customerToken }) => storage().setItem(TOKEN_KEY, customerToken));
    socket.on("chat:message", (m) => {
      if (!ours(m.conversationId)) return;
      setMessages((l) => upsert(l, fromStored(m)));
      if (m.role === "agent" || m.role === "system") {
        clearTimeout(agentTypingTimer.current);
        setAgentTyping(null);
      }
    });
    socket.on("chat:agent-typing", ({ conversationId, name }) => {
      if (!ours(conversationId)) return;
      setAgentTyping(name);
      clearTimeout(agentTypingTimer.current);
      agentTypingTimer.current = setTimeout(() => setAgentTyping(null), TYPING_SHOW_MS);
    });
    socket.on("chat:rated", (p) => {
      if (ours(p.conversationId)) setRating(p.rating);
    });
    socket.on("chat:status", (p) => {
      if (ours(p.conversationId)) setStatus(p.status);
    });
    socket.on("chat:typing", ({ conversationId, messageId, replyToId, queued }) => {
      if (!ours(conversationId)) return;
      setMessages((l) => {
        const existing = l.find((x) => x.id === messageId);
        if (existing && !existing.pending) return l; // already finished: a late event changes nothing
        return upsert(l, { id: messageId, conversationId, role: "bot", text: existing?.text ?? "", clientMessageId: null, replyToId, replyStatus: "streaming", pending: true, queued });
      });
    });
    socket.on("chat:token", ({ conversationId, messageId, text, offset }) => {
      if (!ours(conversationId)) return;
      setMessages((l) => {
        const existing = l.find((x) => x.id === messageId);
        if (existing && !existing.pending) return l;
        return upsert(l, {
          id: messageId, conversationId, role: "bot", clientMessageId: null, replyToId: existing?.replyToId ?? null,
          replyStatus: "streaming", pending: true, queued: false, text: extendText(messageId, existing?.text ?? "", [{ offset, text }]),
        });
      });
      // Pieces missed while disconnected leave a gap: the stored text fills it.
      if (waitingPieces.current.has(messageId) && gapRefetch.current === undefined) {
        gapRefetch.current = setTimeout(() => {
          gapRefetch.current = undefined;
          loadHistory(socket);
        }, GAP_REFETCH_MS);
      }
    });
    socket.on("chat:done", ({ conversationId, messageId, text, stopped, sources, clarify, askEmail }) => {
      if (!ours(conversationId)) return;
      waitingPieces.current.delete(messageId);
      setMessages((l) => {
        const existing = l.find((x) => x.id === messageId);
        const done = { text, sources, clarify, askEmail, pending: false, queued: false, replyStatus: stopped ? ("stopped" as const) : ("complete" as const) };
        if (existing) return l.map((x) => (x.id === messageId ? { ...x, ...done } : x));
        return [...l, { id: messageId, conversationId, role: "bot", clientMessageId: null, replyToId: null, ...done }];
      });
    });
    socket.on("chat:error", (e) => {
      if (e.conversationId && !ours(e.conversationId)) return;
      setError({ code: e.code, message: e.message });
      if (e.messageId) setMessages((l) => l.map((x) => (x.id === e.messageId ? { ...x, pending: false, queued: false, replyStatus: "failed" } : x)));
    });
    return () => {
      clearTimeout(agentTypingTimer.current);
      clearTimeout(gapRefetch.current);
      socket.disconnect();
    };
  }, [loadHistory, extendText]);

  /** Delivers one message; resolves to whether the server stored it. */
  const deliver = useCallback(
    async (socket: ChatSocket, clientMessageId: string, text: string): Promise<boolean> => {
      const current = conversationRef.current ?? undefined;
      // Resending with the same clientMessageId is safe: the server stores a message once.
      for (let attempt = 0; attempt < 5; attempt++) {
        const ack = await new Promise<SendAck | null>((resolve) =>
          socket.timeout(ACK_TIMEOUT_MS).emit("chat:send", { conversationId: current, clientMessageId, text }, (err, r) => {
            // Adopt the conversation in the acknowledgement's own callback, not a later microtask: the
            // reply's first events may come in the same transport payload and must not be dropped.
            if (!err && r.ok && conversationRef.current === (current ?? null)) setConversation(r.conversationId);
            resolve(err ? null : r);
          }),
        );
        if (!ack) continue;
        if (!ack.ok && ack.error.retryable) {
          await new Promise((r) => setTimeout(r, ack.error.retryAfterMs ?? RETRY_DELAY_MS * (attempt + 1)));
          continue;
        }
        if (ack.ok) {
          const { conversationId, messageId } = ack;
          setMessages((l) => l.map((x) => (x.clientMessageId === clientMessageId && x.role === "customer" ? { ...x, id: messageId, conversationId, pending: false } : x)));
          // A lost acknowledgement means the reply's first events may have been missed too.
          if (attempt > 0) loadHistory(socket);
          return true;
        }
        // The next message starts a new conversation (a full one's error tells the customer so).
        if (ack.error.code === ErrorCode.conversationClosed || ack.error.code === ErrorCode.conversationFull || ack.error.code === ErrorCode.unknownConversation) {
          if (conversationRef.current === (current ?? null)) setConversation(null);
        }
        setMessages((l) => l.filter((x) => x.clientMessageId !== clientMessageId));
        setError(ack.error);
        return false;
      }
      setMessages((l) => l.filter((x) => x.clientMessageId !== clientMessageId));
      setError(UNREACHABLE);
      return false;
    },
    [loadHistory, setConversation],
  );

  const send = useCallback(
    (text: string): Promise<boolean> => {
      const socket = socketRef.current;
      if (!socket) return Promise.resolve(false);
      setError(null);
      const clientMessageId = newClientMessageId();
      setMessages((l) => [
        ...l,
        { id: clientMessageId, conversationId: conversationRef.current ?? "", role: "customer", text, clientMessageId, replyToId: null, replyStatus: null, pending: true },
      ]);
      const sent = sendChain.current.then(() => deliver(socket, clientMessageId, text));
      sendChain.current = sent.catch(() => false);
      return sent;
    },
    [deliver],
  );

  const stop = useCallback((messageId: string) => {
    socketRef.current?.emit("chat:stop", { messageId });
  }, []);

  /** Prepends the page of messages before the loaded ones. */
  const loadOlder = useCallback(async () => {
    const socket = socketRef.current;
    const id = conversationRef.current;
    if (!socket || !id || !olderCursor) return;
    const r = await new Promise<HistoryAck | null>((resolve) =>
      socket.timeout(ACK_TIMEOUT_MS).emit("chat:history", { conversationId: id, before: olderCursor }, (err, ack) => resolve(err ? null : ack)),
    );
    if (conversationRef.current !== id) return;
    if (!r?.ok) return setError(r?.error ?? UNREACHABLE);
    loadedOlder.current = true;
    setOlderCursor(r.olderCursor);
    setMessages((l) => [...r.messages.map(fromStored).filter((m) => !l.some((x) => sameMessage(x, m))), ...l]);
  }, [olderCursor]);

  const newConversation = useCallback(() => {
    loadedOlder.current = false;
    setOlderCursor(null);
    setConversation(null);
    setMessages([]);
    setStatus("bot");
    setRating(null);
    setEmailFollowUp(false);
    setAgentTyping(null);
    setError(null);
  }, [setConversation]);

  /** Call on every keystroke: staff watching the conversation see the customer typing (throttled). */
  const typing = useCallback(() => {
    const id = conversationRef.current;
    const now = Date.now();
    if (!id || !socketRef.current?.connected || now - lastTypingSent.current < TYPING_SEND_MS) return;
    lastTypingSent.current = now;
    socketRef.current.emit("chat:typing", { conversationId: id });
  }, []);

  /** Rates the closed conversation; resolves to null when stored, else the error to show. */
  const rate = useCallback(async (value: number, comment: string): Promise<ChatError | null> => {
    const socket = socketRef.current;
    const id = conversationRef.current;
    if (!socket || !id) return { code: ErrorCode.unknownConversation, message: "No conversation to rate." };
    const r = await new Promise<RateAck | null>((resolve) =>
      socket
        .timeout(ACK_TIMEOUT_MS)
        .emit("chat:rate", { conversationId: id, rating: value, comment: comment.trim() || undefined }, (err, ack) => resolve(err ? null : ack)),
    );
    if (!r) return UNREACHABLE;
    if (r.ok || r.error.code === ErrorCode.alreadyRated) {
      if (conversationRef.current === id) setRating(r.ok ? r.rating : value);
      return null;
    }
    return r.error;
  }, []);

  /** "Did this answer your question?" on a bot reply, once; the state comes back in history after a reload. */
  const feedback = useCallback(
    async (messageId: string, helpful: boolean) => {
      const socket = socketRef.current;
      if (!socket) return;
      setMessages((l) => l.map((x) => (x.id === messageId ? { ...x, helpful } : x)));
      const r = await new Promise<FeedbackAck | null>((resolve) =>
        socket.timeout(ACK_TIMEOUT_MS).emit("chat:feedback", { messageId, helpful }, (err, ack) => resolve(err ? null : ack)),
      );
      if (r?.ok) return;
      if (r?.error.code === ErrorCode.alreadyAnswered) {
        loadHistory(socket); // given before (e.g. in another tab): the stored answer wins
        return;
      }
      setMessages((l) => l.map((x) => (x.id === messageId ? { ...x, helpful: null } : x)));
      setError(r?.error ?? UNREACHABLE);
    },
    [loadHistory],
  );

  /** Answers a clarifying question with one of its options; the answer then streams in as a reply. */
  const clarify = useCallback(async (messageId: string, intent: string): Promise<boolean> => {
    const socket = socketRef.current;
    if (!socket) return false;
    const r = await new Promise<ClarifyAck | null>((resolve) =>
      socket.timeout(ACK_TIMEOUT_MS).emit("chat:clarify", { messageId, intent }, (err, ack) => resolve(err ? null : ack)),
    );
    if (r?.ok || r?.error.code === ErrorCode.alreadyAnswered) return true;
    setError(r?.error ?? UNREACHABLE);
    return false;
  }, []);

  /** Leaves an email address for agents' replies while no one can join; the refusal, if any, to show at the form. */
  const leaveEmail = useCallback(async (email: string): Promise<ChatError | null> => {
    const socket = socketRef.current;
    const id = conversationRef.current;
    if (!socket || !id) return UNREACHABLE;
    const r = await new Promise<EmailAck | null>((resolve) =>
      socket.timeout(ACK_TIMEOUT_MS).emit("chat:email", { conversationId: id, email }, (err, ack) => resolve(err ? null : ack)),
    );
    if (r?.ok) setEmailFollowUp(true);
    return r?.ok ? null : (r?.error ?? UNREACHABLE);
  }, []);

  return { messages, olderCursor, loadOlder, connected, status, error, conversationId, rating, agentTyping, send, stop, newConversation, typing, rate, feedback, clarify, leaveEmail, emailFollowUp };
}
