"use client";
/**
 * The live state of one conversation for the staff console, over the /staff socket.io namespace:
 * the transcript as it happens (the bot's reply assembled from `chat:token` pieces by offset, as the
 * customer's client does), the customer typing, who owns the conversation, who else is viewing and
 * typing in it, private notes (staff only), and the agent's actions — take over, reassign, send, add
 * a note, hand back, close. Its view is live-conversation.tsx.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { ErrorCode, type ChatError } from "@/lib/protocol/errors";
import type { ChatMessage, ConversationStatus } from "@/lib/protocol/chat";
import { WaitingPieces } from "@/lib/protocol/reply-stream";
import {
  bareStaffMessage,
  STAFF_NAMESPACE,
  type ServerToStaffEvents,
  type StaffConversationState,
  type StaffMessage,
  type StaffNote,
  type StaffPerson,
  type StaffStateAck,
  type StaffToServerEvents,
} from "@/lib/protocol/staff";
import { newClientMessageId } from "@/lib/client-message-id";

type StaffSocket = Socket<ServerToStaffEvents, StaffToServerEvents>;

const ACK_TIMEOUT_MS = 10_000;
const TYPING_SEND_MS = 1500;
const TYPING_SHOW_MS = 4000;
/** How soon the stored transcript is fetched to fill a gap in a streaming reply (pieces missed while away). */
const GAP_REFETCH_MS = 500;

export interface StaffConversationOptions {
  conversationId: string;
  initialMessages: StaffMessage[];
  initialNotes: StaffNote[];
  /** Where the transcript page before `initialMessages` starts; null when they start the conversation. */
  initialOlderCursor: string | null;
  initialStatus: ConversationStatus;
  staff: { id: string; name: string; role: string };
  assignedStaffId: string | null;
}

export interface CannedResponse {
  id: string;
  title: string;
  body: string;
}

export interface LiveMessage extends StaffMessage {
  /** An agent message not yet acknowledged, or a bot reply still streaming. */
  pending?: boolean;
  /** The clientMessageId of an agent message sent from this tab. */
  localId?: string;
}

export type StaffAction = "staff:takeover" | "staff:assign" | "staff:handback" | "staff:close";

export interface StaffActionOptions {
  /** A take-over of a conversation assigned to another agent. */
  force?: boolean;
  /** Whom `staff:assign` gives the conversation to. */
  staffId?: string;
  /** Runs once the server has accepted the action. */
  onDone?: () => void;
}

const blank = (m: Parameters<typeof bareStaffMessage>[0]): LiveMessage => bareStaffMessage(m);

const fromChat = (m: ChatMessage): LiveMessage => ({ ...blank(m), pending: m.replyStatus === "streaming" });

/** Adds a message or updates the one with its id, keeping what is known about it (intent, metrics). */
function upsert(list: LiveMessage[], m: Partial<LiveMessage> & { id: string }, create: () => LiveMessage): LiveMessage[] {
  const i = list.findIndex((x) => x.id === m.id);
  if (i === -1) return [...list, { ...create(), ...m }];
  const next = list.slice();
  next[i] = { ...list[i]!, ...m };
  return next;
}

/**
 * The stored transcript (its newest page) wins (it has the classifier's verdicts and the reply
 * metrics), except for a reply still streaming here, whose text is the longer of the two (both are
 * prefixes of the reply) extended by the live pieces that were waiting for it, for older pages loaded
 * here ("Show earlier messages"), and for messages newer than the fetch.
 */
function mergeStored(current: LiveMessage[], stored: StaffMessage[], extend: (messageId: string, text: string) => string): LiveMessage[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  const firstOnPage = current.findIndex((m) => stored.some((s) => s.id === m.id));
  const older = current.slice(0, Math.max(firstOnPage, 0));
  const next: LiveMessage[] = older.concat(stored.map((s) => {
    const live = byId.get(s.id);
    if (live?.pending && s.replyStatus === "streaming") return { ...s, text: extend(s.id, live.text.length > s.text.length ? live.text : s.text), pending: true };
    return { ...s, pending: s.replyStatus === "streaming" && live?.pending !== false };
  }));
  const known = new Set([...older, ...stored].map((s) => s.id));
  for (const m of current) if (!known.has(m.id)) next.push(m);
  return next;
}

/**
 * GET /api/staff/conversations/<id>: the stored transcript's newest page (or the one before `before`)
 * with its metadata (null when unavailable).
 */
async function fetchStored(
  conversationId: string,
  before?: string,
): Promise<{ messages: StaffMessage[]; notes: StaffNote[]; olderCursor: string | null; state: Partial<StaffConversationState> } | null> {
  try {
    const query = before ? `?before=${encodeURIComponent(before)}` : "";
    const res = await fetch(`/api/staff/conversations/${encodeURIComponent(conversationId)}${query}`, { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return null;
    const json = (await res.json()) as Record<string, unknown>;
    const detail = (json.conversation && typeof json.conversation === "object" ? json.conversation : json) as {
      messages?: unknown;
      notes?: unknown;
      olderCursor?: string | null;
      rating?: number | null;
      ratingComment?: string | null;
    };
    if (!Array.isArray(detail.messages)) return null;
    return {
      messages: detail.messages as StaffMessage[],
      notes: Array.isArray(detail.notes) ? (detail.notes as StaffNote[]) : [],
      olderCursor: detail.olderCursor ?? null,
      state: { rating: detail.rating ?? null, ratingComment: detail.ratingComment ?? null },
    };
  } catch {
    return null;
  }
}

/** GET /api/staff/canned-responses, tolerant of `[...]` or `{ items | cannedResponses: [...] }`. */
async function fetchCanned(): Promise<CannedResponse[]> {
  try {
    const res = await fetch("/api/staff/canned-responses", { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return [];
    const json = (await res.json()) as unknown;
    const list = Array.isArray(json)
      ? json
      : ((json as { items?: unknown; cannedResponses?: unknown; responses?: unknown }).items ??
        (json as { cannedResponses?: unknown }).cannedResponses ??
        (json as { responses?: unknown }).responses);
    if (!Array.isArray(list)) return [];
    return list.filter(
      (c): c is CannedResponse => !!c && typeof c.id === "string" && typeof c.title === "string" && typeof c.body === "string",
    );
  } catch {
    return [];
  }
}

/** Notes by id, oldest first: one arriving live and again in a fetched transcript is shown once. */
function mergeNotes(current: StaffNote[], more: StaffNote[]): StaffNote[] {
  const byId = new Map([...current, ...more].map((n) => [n.id, n]));
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export function useStaffConversation({ conversationId, initialMessages, initialNotes, initialOlderCursor, initialStatus, staff, assignedStaffId }: StaffConversationOptions) {
  const socketRef = useRef<StaffSocket | null>(null);
  const [messages, setMessages] = useState<LiveMessage[]>(() => initialMessages.map((m) => ({ ...m, pending: m.replyStatus === "streaming" })));
  const [notes, setNotes] = useState<StaffNote[]>(initialNotes);
  const [olderCursor, setOlderCursor] = useState(initialOlderCursor);
  const [state, setState] = useState<StaffConversationState>({
    conversationId,
    status: initialStatus,
    assignedStaff: assignedStaffId ? { id: assignedStaffId, name: assignedStaffId === staff.id ? staff.name : "another agent" } : null,
    rating: null,
    ratingComment: null,
  });
  const [connected, setConnected] = useState(false);
  const [sessionEnded, setSessionEnded] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [customerTyping, setCustomerTyping] = useState(false);
  const [viewers, setViewers] = useState<StaffPerson[]>([]);
  /** Other staff typing here, each until TYPING_SHOW_MS after their last typing event. */
  const [staffTyping, setStaffTyping] = useState<StaffPerson[]>([]);
  const staffTypingTimers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const customerTypingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [canned, setCanned] = useState<CannedResponse[] | null>(null);
  const lastTypingSent = useRef(0);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const waitingPieces = useRef(new WaitingPieces());
  const gapRefetch = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const mine = state.status === "agent" && state.assignedStaff?.id === staff.id;

  /** Fetches the stored transcript (classifier verdicts, reply metrics) and merges it in, soon. */
  const refresh = useCallback(
    (delayMs = 0) => {
      clearTimeout(refreshTimer.current);
      refreshTimer.current = setTimeout(() => {
        void fetchStored(conversationId).then((stored) => {
          if (!stored) return;
          setMessages((current) => mergeStored(current, stored.messages, (id, text) => waitingPieces.current.extend(id, text)));
          setNotes((current) => mergeNotes(current, stored.notes));
          setState((s) => ({ ...s, rating: s.rating ?? stored.state.rating ?? null, ratingComment: s.ratingComment ?? stored.state.ratingComment ?? null }));
        });
      }, delayMs);
    },
    [conversationId],
  );

  useEffect(() => {
    const socket: StaffSocket = io(STAFF_NAMESPACE, { withCredentials: true });
    socketRef.current = socket;
    const ours = (id: string) => id === conversationId;
    const endSession = (e: ChatError) => {
      setSessionEnded(
        e.code === ErrorCode.forbidden ? "Your role may not use the live chat." : "Your session has ended. Log in again to continue.",
      );
      socket.disconnect();
    };

    socket.on("connect", () => {
      setConnected(true);
      socket.timeout(ACK_TIMEOUT_MS).emit("staff:watch", { conversationId }, (err, r) => {
        if (err) return setError("Could not reach the server; retrying…");
        if (!r.ok) return setError(r.error.message);
        const { ok: _ok, ...next } = r;
        setState(next);
        setError(null);
        refresh(); // catch up on whatever happened while this page was loading or disconnected
      });
    });
    socket.on("disconnect", () => setConnected(false));
    socket.on("connect_error", (err) => {
      const data = (err as Error & { data?: ChatError }).data;
      if (data?.code === ErrorCode.unauthenticated || data?.code === ErrorCode.forbidden) endSession(data);
    });
    socket.on("chat:error", (e) => {
      if (e.code === ErrorCode.unauthenticated || e.code === ErrorCode.forbidden) return endSession(e);
      if (e.conversationId && !ours(e.conversationId)) return;
      if (e.messageId) setMessages((l) => l.map((m) => (m.id === e.messageId ? { ...m, pending: false, replyStatus: "failed" } : m)));
      else setError(e.message);
    });

    socket.on("chat:message", (m) => {
      if (!ours(m.conversationId)) return;
      setMessages((l) => {
        const existing = l.find((x) => x.id === m.id);
        if (existing) return l.map((x) => (x.id === m.id ? { ...x, text: m.text, replyStatus: m.replyStatus, pending: false } : x));
        return [...l, fromChat(m)];
      });
      if (m.role === "customer") {
        clearTimeout(customerTypingTimer.current);
        setCustomerTyping(false);
        refresh(1500); // its intent arrives once the classifier has run
      }
    });
    socket.on("chat:typing", ({ conversationId: id, messageId }) => {
      if (!ours(id)) return;
      setMessages((l) => {
        const existing = l.find((x) => x.id === messageId);
        if (existing && !existing.pending) return l;
        return upsert(l, { id: messageId, pending: true, replyStatus: "streaming" }, () =>
          blank({ id: messageId, conversationId: id, role: "bot", text: "", createdAt: new Date().toISOString(), replyStatus: "streaming" }),
        );
      });
    });
    socket.on("chat:token", ({ conversationId: id, messageId, text, offset }) => {
      if (!ours(id)) return;
      setMessages((l) => {
        const existing = l.find((x) => x.id === messageId);
        if (existing && !existing.pending) return l;
        const extended = waitingPieces.current.extend(messageId, existing?.text ?? "", [{ offset, text }]);
        return upsert(l, { id: messageId, text: extended, pending: true, replyStatus: "streaming" }, () =>
          blank({ id: messageId, conversationId: id, role: "bot", text: "", createdAt: new Date().toISOString(), replyStatus: "streaming" }),
        );
      });
      // Pieces missed while disconnected (or before the page loaded) leave a gap: the stored text fills it.
      if (waitingPieces.current.has(messageId) && gapRefetch.current === undefined) {
        gapRefetch.current = setTimeout(() => {
          gapRefetch.current = undefined;
          refresh();
        }, GAP_REFETCH_MS);
      }
    });
    socket.on("chat:done", ({ conversationId: id, messageId, text, stopped }) => {
      if (!ours(id)) return;
      waitingPieces.current.delete(messageId);
      setMessages((l) =>
        upsert(l, { id: messageId, text, pending: false, replyStatus: stopped ? "stopped" : "complete" }, () =>
          blank({ id: messageId, conversationId: id, role: "bot", text, createdAt: new Date().toISOString(), replyStatus: "complete" }),
        ),
      );
      refresh(300); // the reply's metrics (time to first token, speed)
    });
    socket.on("chat:status", ({ conversationId: id, status }) => {
      if (ours(id)) setState((s) => ({ ...s, status, assignedStaff: status === "agent" ? s.assignedStaff : status === "bot" ? null : s.assignedStaff }));
    });
    socket.on("staff:conversation", (next) => {
      if (ours(next.conversationId)) setState(next);
    });
    socket.on("staff:note", (note) => {
      if (ours(note.conversationId)) setNotes((current) => mergeNotes(current, [note]));
    });
    socket.on("chat:rated", ({ conversationId: id, rating, comment }) => {
      if (ours(id)) setState((s) => ({ ...s, rating, ratingComment: comment }));
    });
    socket.on("staff:presence", (p) => {
      if (ours(p.conversationId)) setViewers(p.viewers);
    });
    socket.on("staff:typing", ({ conversationId: id, staff: typist }) => {
      if (!ours(id) || typist.id === staff.id) return;
      setStaffTyping((list) => (list.some((x) => x.id === typist.id) ? list : [...list, typist]));
      const timers = staffTypingTimers.current;
      clearTimeout(timers.get(typist.id));
      timers.set(
        typist.id,
        setTimeout(() => {
          timers.delete(typist.id);
          setStaffTyping((list) => list.filter((x) => x.id !== typist.id));
        }, TYPING_SHOW_MS),
      );
    });
    socket.on("chat:customer-typing", ({ conversationId: id }) => {
      if (!ours(id)) return;
      setCustomerTyping(true);
      clearTimeout(customerTypingTimer.current);
      customerTypingTimer.current = setTimeout(() => setCustomerTyping(false), TYPING_SHOW_MS);
    });

    const typingTimers = staffTypingTimers.current;
    return () => {
      for (const t of typingTimers.values()) clearTimeout(t);
      typingTimers.clear();
      clearTimeout(customerTypingTimer.current);
      clearTimeout(refreshTimer.current);
      clearTimeout(gapRefetch.current);
      gapRefetch.current = undefined;
      socket.disconnect();
      socketRef.current = null;
    };
  }, [conversationId, refresh, staff.id]);

  // Canned responses load once the composer is first shown.
  useEffect(() => {
    if (mine && canned === null) void fetchCanned().then(setCanned);
  }, [mine, canned]);

  /** Sends a take over, reassignment, hand back or close. */
  function request(event: StaffAction, { force, staffId, onDone }: StaffActionOptions = {}) {
    const socket = socketRef.current;
    if (!socket || busy) return;
    setBusy(true);
    setError(null);
    const done = (err: Error | null, r: StaffStateAck) => {
      setBusy(false);
      if (err) return setError("The server did not answer; please try again.");
      if (!r.ok) {
        if (r.error.code === ErrorCode.unauthenticated || r.error.code === ErrorCode.forbidden) {
          setSessionEnded("Your session has ended. Log in again to continue.");
        }
        return setError(r.error.message);
      }
      const { ok: _ok, ...next } = r;
      setState(next);
      onDone?.();
    };
    const timed = socket.timeout(ACK_TIMEOUT_MS);
    if (event === "staff:takeover") timed.emit("staff:takeover", force ? { conversationId, force } : { conversationId }, done);
    else if (event === "staff:assign") timed.emit("staff:assign", { conversationId, staffId: staffId ?? "" }, done);
    else if (event === "staff:handback") timed.emit("staff:handback", { conversationId }, done);
    else timed.emit("staff:close", { conversationId }, done);
  }

  /** Sends an agent message; returns false when it cannot be sent now. `onFailed` gets back a text that did not go out. */
  function send(text: string, onFailed: (text: string) => void): boolean {
    const socket = socketRef.current;
    if (!socket || !text || !mine) return false;
    const clientMessageId = newClientMessageId();
    setError(null);
    const local: LiveMessage = {
      ...blank({ id: clientMessageId, conversationId, role: "agent", text, createdAt: new Date().toISOString(), replyStatus: null }),
      authorName: staff.name,
      pending: true,
      localId: clientMessageId,
    };
    setMessages((l) => [...l, local]);
    const attempt = (n: number) =>
      socket.timeout(ACK_TIMEOUT_MS).emit("staff:send", { conversationId, clientMessageId, text }, (err, r) => {
        // Resending with the same clientMessageId is safe: the server stores the message once.
        if (err && n < 3) return attempt(n + 1);
        const failure = err ? "The message could not be sent; please try again." : r.ok ? null : r.error.message;
        if (failure !== null || !r.ok) {
          // A message that did not go out goes back to the composer, not lost.
          setMessages((l) => l.filter((m) => m.localId !== clientMessageId));
          onFailed(text);
          setError(failure);
          return;
        }
        setMessages((l) => {
          const arrived = l.some((m) => m.id === r.messageId);
          if (arrived) return l.filter((m) => m.localId !== clientMessageId).map((m) => (m.id === r.messageId ? { ...m, authorName: staff.name } : m));
          return l.map((m) => (m.localId === clientMessageId ? { ...m, id: r.messageId, pending: false, localId: undefined } : m));
        });
      });
    attempt(0);
    return true;
  }

  /** Adds a private note; `onDone(ok)` tells the form whether to clear its text. */
  function addNote(text: string, onDone: (ok: boolean) => void) {
    const socket = socketRef.current;
    if (!socket || !text) return onDone(false);
    setError(null);
    socket.timeout(ACK_TIMEOUT_MS).emit("staff:note", { conversationId, text }, (err, r) => {
      if (err) setError("The note could not be saved; please try again.");
      else if (!r.ok) setError(r.error.message);
      else setNotes((current) => mergeNotes(current, [r.note]));
      onDone(!err && r.ok);
    });
  }

  /** Tells the other staff watching (and, for the assignee's reply, the customer) that this agent is typing, at most every 1.5 s. */
  function typing() {
    const now = Date.now();
    if (now - lastTypingSent.current >= TYPING_SEND_MS) {
      lastTypingSent.current = now;
      socketRef.current?.emit("staff:typing", { conversationId });
    }
  }

  /** Puts the transcript page before the loaded messages in front of them. */
  const loadOlder = useCallback(async () => {
    if (!olderCursor) return;
    const page = await fetchStored(conversationId, olderCursor);
    if (!page) return setError("Could not load earlier messages.");
    setOlderCursor(page.olderCursor);
    setMessages((current) => [...page.messages.filter((m) => !current.some((x) => x.id === m.id)), ...current]);
  }, [conversationId, olderCursor]);

  return { messages, notes, olderCursor, loadOlder, state, mine, connected, sessionEnded, error, busy, customerTyping, viewers, staffTyping, canned, request, send, addNote, typing };
}
