"use client";
/**
 * One conversation, live, in the staff console: the transcript as it happens (the bot's reply token
 * by token), the customer typing, and the agent's controls — take over, reply (with canned
 * responses), hand back to the bot, close — over the /staff socket.io namespace.
 *
 * Every text is rendered as plain React text: customers' messages are untrusted.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { io, type Socket } from "socket.io-client";
import {
  ErrorCode,
  MAX_MESSAGE_CHARS,
  type ChatError,
  type ChatMessage,
  type ConversationStatus,
  type ServerToStaffEvents,
  type StaffConversationState,
  type StaffStateAck,
  type StaffToServerEvents,
} from "@/lib/protocol";
import { bareStaffMessage, STATUS_LABELS, type StaffMessage } from "@/lib/staff-types";
import { Ago } from "./inbox-time";
import { IntentLabelControl, ReplyFeedbackControl } from "./message-review";
import { ReplyGrounding } from "./reply-grounding";
import styles from "./inbox.module.css";
import { newClientMessageId } from "@/lib/client-message-id";

type StaffSocket = Socket<ServerToStaffEvents, StaffToServerEvents>;

const STAFF_NAMESPACE = "/staff";
const ACK_TIMEOUT_MS = 10_000;
const TYPING_SEND_MS = 1500;
const TYPING_SHOW_MS = 4000;

export interface LiveConversationProps {
  conversationId: string;
  initialMessages: StaffMessage[];
  initialStatus: ConversationStatus;
  staff: { id: string; name: string; role: string };
  labels: string[];
  assignedStaffId: string | null;
}

interface CannedResponse {
  id: string;
  title: string;
  body: string;
}

interface LiveMessage extends StaffMessage {
  /** An agent message not yet acknowledged, or a bot reply still streaming. */
  pending?: boolean;
  /** The clientMessageId of an agent message sent from this tab. */
  localId?: string;
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
 * The stored transcript wins (it has the classifier's verdicts and the reply metrics), except for a
 * reply still streaming here and for messages newer than the fetch.
 */
function mergeStored(current: LiveMessage[], stored: StaffMessage[]): LiveMessage[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  const next: LiveMessage[] = stored.map((s) => {
    const live = byId.get(s.id);
    if (live?.pending && s.replyStatus === "streaming") return { ...s, text: live.text.length > s.text.length ? live.text : s.text, pending: true };
    return { ...s, pending: s.replyStatus === "streaming" && live?.pending !== false };
  });
  const known = new Set(stored.map((s) => s.id));
  for (const m of current) if (!known.has(m.id)) next.push(m);
  return next;
}

/** GET /api/staff/conversations/<id>: the stored transcript with its metadata (null when unavailable). */
async function fetchStored(conversationId: string): Promise<{ messages: StaffMessage[]; state: Partial<StaffConversationState> } | null> {
  try {
    const res = await fetch(`/api/staff/conversations/${encodeURIComponent(conversationId)}`, { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return null;
    const json = (await res.json()) as Record<string, unknown>;
    const detail = (json.conversation && typeof json.conversation === "object" ? json.conversation : json) as {
      messages?: unknown;
      rating?: number | null;
      ratingComment?: string | null;
    };
    if (!Array.isArray(detail.messages)) return null;
    return {
      messages: detail.messages as StaffMessage[],
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

export function LiveConversation({ conversationId, initialMessages, initialStatus, staff, labels, assignedStaffId }: LiveConversationProps) {
  const socketRef = useRef<StaffSocket | null>(null);
  const [messages, setMessages] = useState<LiveMessage[]>(() => initialMessages.map((m) => ({ ...m, pending: m.replyStatus === "streaming" })));
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
  const customerTypingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [draft, setDraft] = useState("");
  const [canned, setCanned] = useState<CannedResponse[] | null>(null);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const lastTypingSent = useRef(0);
  const listRef = useRef<HTMLOListElement>(null);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const mine = state.status === "agent" && state.assignedStaff?.id === staff.id;
  const isAdmin = staff.role === "admin";

  /** Fetches the stored transcript (classifier verdicts, reply metrics) and merges it in, soon. */
  const refresh = useCallback(
    (delayMs = 0) => {
      clearTimeout(refreshTimer.current);
      refreshTimer.current = setTimeout(() => {
        void fetchStored(conversationId).then((stored) => {
          if (!stored) return;
          setMessages((current) => mergeStored(current, stored.messages));
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
    socket.on("chat:token", ({ conversationId: id, messageId, text }) => {
      if (!ours(id)) return;
      setMessages((l) => {
        const existing = l.find((x) => x.id === messageId);
        if (existing && !existing.pending) return l;
        return upsert(l, { id: messageId, text: (existing?.text ?? "") + text, pending: true, replyStatus: "streaming" }, () =>
          blank({ id: messageId, conversationId: id, role: "bot", text: "", createdAt: new Date().toISOString(), replyStatus: "streaming" }),
        );
      });
    });
    socket.on("chat:done", ({ conversationId: id, messageId, text, stopped }) => {
      if (!ours(id)) return;
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
    socket.on("chat:rated", ({ conversationId: id, rating, comment }) => {
      if (ours(id)) setState((s) => ({ ...s, rating, ratingComment: comment }));
    });
    socket.on("chat:customer-typing", ({ conversationId: id }) => {
      if (!ours(id)) return;
      setCustomerTyping(true);
      clearTimeout(customerTypingTimer.current);
      customerTypingTimer.current = setTimeout(() => setCustomerTyping(false), TYPING_SHOW_MS);
    });

    return () => {
      clearTimeout(customerTypingTimer.current);
      clearTimeout(refreshTimer.current);
      socket.disconnect();
      socketRef.current = null;
    };
  }, [conversationId, refresh]);

  // Canned responses load once the composer is first shown.
  useEffect(() => {
    if (mine && canned === null) void fetchCanned().then(setCanned);
  }, [mine, canned]);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages, customerTyping]);

  /** Sends a staff event and resolves to its acknowledgement (or a network error). */
  function request(event: "staff:takeover" | "staff:handback" | "staff:close") {
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
      if (event === "staff:takeover") requestAnimationFrame(() => composerRef.current?.focus());
    };
    const timed = socket.timeout(ACK_TIMEOUT_MS);
    if (event === "staff:takeover") timed.emit("staff:takeover", { conversationId }, done);
    else if (event === "staff:handback") timed.emit("staff:handback", { conversationId }, done);
    else timed.emit("staff:close", { conversationId }, done);
  }

  function send(e?: FormEvent) {
    e?.preventDefault();
    const socket = socketRef.current;
    const text = draft.trim();
    if (!socket || !text || !mine) return;
    const clientMessageId = newClientMessageId();
    setDraft("");
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
          // A message that did not go out goes back into an empty composer, not lost.
          setMessages((l) => l.filter((m) => m.localId !== clientMessageId));
          setDraft((d) => (d === "" ? text : d));
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
  }

  function onDraftChange(value: string) {
    setDraft(value);
    const now = Date.now();
    if (value.trim() !== "" && mine && now - lastTypingSent.current >= TYPING_SEND_MS) {
      lastTypingSent.current = now;
      socketRef.current?.emit("staff:typing", { conversationId });
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) send(e);
  }

  /** Puts a canned response's body at the cursor (replacing a selection). */
  function insertCanned(id: string) {
    const c = canned?.find((x) => x.id === id);
    if (!c) return;
    const el = composerRef.current;
    const start = el?.selectionStart ?? draft.length;
    const end = el?.selectionEnd ?? draft.length;
    const next = (draft.slice(0, start) + c.body + draft.slice(end)).slice(0, MAX_MESSAGE_CHARS);
    onDraftChange(next);
    requestAnimationFrame(() => {
      el?.focus();
      const caret = Math.min(start + c.body.length, next.length);
      el?.setSelectionRange(caret, caret);
    });
  }

  const { status, assignedStaff } = state;
  const canTakeOver = status === "bot" || status === "waiting_for_agent";
  const canHandBack = status === "waiting_for_agent" || (status === "agent" && (mine || isAdmin || !assignedStaff));
  const canClose = status !== "closed" && (status !== "agent" || mine || isAdmin || !assignedStaff);

  return (
    <section className="live" aria-label="Live conversation" data-testid="live-conversation" data-status={status}>
      <div className="live-bar">
        <span className={`${styles.badge} ${styles[`status_${status}`]}`} data-testid="live-status">
          {STATUS_LABELS[status]}
        </span>
        {status === "agent" && assignedStaff && (
          <span className="live-assignee" data-testid="live-assignee">
            {mine ? "You are chatting with the customer" : `${assignedStaff.name} is chatting with the customer`}
          </span>
        )}
        <span className={connected ? "live-conn live-conn-on" : "live-conn"}>{connected ? "Live" : "Connecting…"}</span>
      </div>

      {sessionEnded && (
        <p className="live-error" role="alert">
          {sessionEnded} <a href="/staff/login">Log in</a>
        </p>
      )}

      <ol className="live-messages" ref={listRef} data-testid="live-messages">
        {messages.length === 0 && <li className="live-empty">No messages yet.</li>}
        {messages.map((m) => (
          <li
            key={m.localId ?? m.id}
            className={`live-msg live-msg-${m.role}`}
            data-role={m.role}
            data-status={m.replyStatus ?? ""}
            data-message-id={m.id}
          >
            <div className="live-msg-head">
              <span className="live-author">{authorLabel(m)}</span>
              {!m.pending && <Ago iso={m.createdAt} />}
            </div>
            {m.role === "bot" && m.pending && m.text === "" ? (
              <span className="live-typing">Typing…</span>
            ) : (
              <div className="live-text">{m.text}</div>
            )}
            {m.role === "bot" && m.replyStatus === "stopped" && <span className="live-note">(stopped)</span>}
            {m.role === "bot" && m.replyStatus === "failed" && <span className="live-note">(no answer)</span>}
            {m.role === "customer" && (
              <IntentLabelControl key={`${m.id}:${m.intent ?? ""}`} message={m} labels={labels} compact />
            )}
            {m.role === "bot" && !m.pending && <ReplyGrounding message={m} />}
            {m.role === "bot" && !m.pending && <ReplyFeedbackControl message={m} />}
          </li>
        ))}
        {customerTyping && status !== "closed" && (
          <li className="live-msg live-msg-customer live-customer-typing" data-testid="customer-typing" aria-live="polite">
            <span className="live-typing">Customer is typing…</span>
          </li>
        )}
      </ol>

      {error && (
        <p className="live-error" role="alert" data-testid="live-error">
          {error}
        </p>
      )}

      {status === "closed" && (
        <div className="live-closed" data-testid="live-rating">
          {state.rating !== null ? (
            <>
              Customer rating: <strong data-testid="live-rating-value">{state.rating}/5</strong>
              {state.ratingComment && (
                <>
                  {" "}
                  — “<span data-testid="live-rating-comment">{state.ratingComment}</span>”
                </>
              )}
            </>
          ) : (
            <span className="live-muted">Conversation closed. Waiting for the customer’s rating…</span>
          )}
        </div>
      )}

      {mine && (
        <form className="live-composer" onSubmit={send}>
          <div className="live-composer-tools">
            <label className="live-canned">
              <span>Canned response</span>
              <select
                value=""
                onChange={(e) => insertCanned(e.target.value)}
                disabled={!canned || canned.length === 0}
                aria-label="Insert canned response"
              >
                <option value="">{canned === null ? "Loading…" : canned.length === 0 ? "None available" : "Insert…"}</option>
                {canned?.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.title}
                  </option>
                ))}
              </select>
            </label>
            <span className="live-muted">{draft.length}/{MAX_MESSAGE_CHARS}</span>
          </div>
          <div className="live-composer-row">
            <textarea
              ref={composerRef}
              value={draft}
              onChange={(e) => onDraftChange(e.target.value)}
              onKeyDown={onKeyDown}
              maxLength={MAX_MESSAGE_CHARS}
              rows={3}
              placeholder="Reply to the customer…"
              aria-label="Message to the customer"
            />
            <button type="submit" className={`${styles.btn} ${styles.btnPrimary}`} disabled={!connected || draft.trim() === ""}>
              Send
            </button>
          </div>
        </form>
      )}

      <div className="live-actions">
        {canTakeOver && (
          <button type="button" className={`${styles.btn} ${styles.btnPrimary}`} disabled={busy || !connected} onClick={() => request("staff:takeover")}>
            Take over
          </button>
        )}
        {canHandBack && (
          <button type="button" className={styles.btn} disabled={busy || !connected} onClick={() => request("staff:handback")}>
            Hand back to bot
          </button>
        )}
        {canClose && (
          <button type="button" className={styles.btn} disabled={busy || !connected} onClick={() => request("staff:close")}>
            Close conversation
          </button>
        )}
      </div>
    </section>
  );
}

function authorLabel(m: LiveMessage): string {
  switch (m.role) {
    case "customer":
      return "Customer";
    case "bot":
      return "Bot";
    case "agent":
      return m.authorName ?? "Agent";
    case "system":
      return "System";
  }
}
