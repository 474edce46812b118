"use client";
/**
 * One conversation, live, in the staff console: the transcript as it happens with staff's private
 * notes between the messages (set apart: customers never see them), the customer typing, who else
 * is viewing and typing, and the controls — take over (also from another agent), reassign, reply
 * (with canned responses), add a note, hand back to the bot, close.
 * The socket state lives in useStaffConversation; this is its view.
 *
 * Every text is rendered as plain React text: customers' messages are untrusted.
 */
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { MAX_MESSAGE_CHARS } from "@/lib/protocol/chat";
import { STATUS_LABELS, type AssignableAgent, type StaffNote } from "@/lib/protocol/staff";
import { Ago } from "@/app/_console/time";
import styles from "@/app/_console/console.module.css";
import { IntentLabelControl } from "./intent-label-control";
import { LmExampleControl } from "./lm-example-control";
import { ReplyFeedbackControl } from "./reply-feedback-control";
import { ReplyGrounding } from "./reply-grounding";
import { useStaffConversation, type LiveMessage, type StaffConversationOptions } from "./use-staff-conversation";

export interface LiveConversationProps extends StaffConversationOptions {
  labels: string[];
}

export function LiveConversation({ labels, ...options }: LiveConversationProps) {
  const { staff } = options;
  const { messages, notes, olderCursor, loadOlder, state, mine, connected, sessionEnded, error, busy, customerTyping, viewers, staffTyping, canned, request, send, addNote, typing } =
    useStaffConversation(options);
  const [draft, setDraft] = useState("");
  const [noteDraft, setNoteDraft] = useState("");
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const isAdmin = staff.role === "admin";

  // Follow the newest message or note (not an older page put in front of the list).
  const newest = messages.at(-1);
  const newestNote = notes.at(-1);
  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [newest, newestNote, customerTyping]);

  function submit(e?: FormEvent) {
    e?.preventDefault();
    // A message that did not go out comes back into an empty composer.
    if (send(draft.trim(), (text) => setDraft((d) => (d === "" ? text : d)))) setDraft("");
  }

  function onNoteChange(value: string) {
    setNoteDraft(value);
    if (value.trim() !== "") typing();
  }

  function submitNote(e: FormEvent) {
    e.preventDefault();
    const text = noteDraft.trim();
    addNote(text, (ok) => {
      if (ok) setNoteDraft((d) => (d.trim() === text ? "" : d));
    });
  }

  function onDraftChange(value: string) {
    setDraft(value);
    if (value.trim() !== "") typing();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) submit(e);
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
  // Taking a chat from the agent it is assigned to is a separate, explicit action (audited).
  const canTakeOverFrom = status === "agent" && !!assignedStaff && !mine;
  const canReassign = (status === "agent" || status === "waiting_for_agent") && (mine || isAdmin);
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
      <Presence viewers={viewers} typing={staffTyping} me={staff.id} />

      {sessionEnded && (
        <p className="live-error" role="alert">
          {sessionEnded} <a href="/staff/login">Log in</a>
        </p>
      )}

      <ol className="live-messages" ref={listRef} data-testid="live-messages">
        {messages.length === 0 && <li className="live-empty">No messages yet.</li>}
        {olderCursor && (
          <li className="live-empty">
            <button type="button" onClick={() => void loadOlder()}>
              Show earlier messages
            </button>
          </li>
        )}
        {timeline(messages, notes).map((item) =>
          "role" in item ? <MessageItem key={item.localId ?? item.id} m={item} labels={labels} /> : <NoteItem key={`note:${item.id}`} note={item} />,
        )}
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
        <form className="live-composer" onSubmit={submit}>
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

      {status !== "closed" && (
        <form className="live-note-form" onSubmit={submitNote} data-testid="note-form">
          <textarea
            value={noteDraft}
            onChange={(e) => onNoteChange(e.target.value)}
            maxLength={MAX_MESSAGE_CHARS}
            rows={2}
            placeholder="Private note for staff (the customer never sees it)…"
            aria-label="Private note"
          />
          <button type="submit" className={styles.btn} disabled={!connected || noteDraft.trim() === ""}>
            Add note
          </button>
        </form>
      )}

      <div className="live-actions">
        {canTakeOver && (
          <button type="button" className={`${styles.btn} ${styles.btnPrimary}`} disabled={busy || !connected} onClick={() => request("staff:takeover", { onDone: () => requestAnimationFrame(() => composerRef.current?.focus()) })}>
            Take over
          </button>
        )}
        {canTakeOverFrom && (
          <button type="button" className={styles.btn} disabled={busy || !connected} onClick={() => request("staff:takeover", { force: true })}>
            Take over from {assignedStaff.name}
          </button>
        )}
        {canReassign && <Reassign disabled={busy || !connected} current={assignedStaff?.id ?? null} onAssign={(staffId) => request("staff:assign", { staffId })} />}
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

/** Who else has this conversation open, and which of them is typing (a reply or a note). */
function Presence({ viewers, typing, me }: { viewers: { id: string; name: string }[]; typing: { id: string; name: string }[]; me: string }) {
  const others = viewers.filter((v) => v.id !== me);
  return (
    <div className="live-presence" data-testid="live-presence">
      <span data-testid="live-viewers">{others.length === 0 ? "Nobody else is viewing" : `Also viewing: ${others.map((v) => v.name).join(", ")}`}</span>
      {typing.length > 0 && (
        <span className="live-typing" data-testid="staff-typing" aria-live="polite">
          {" "}
          · {typing.map((t) => t.name).join(", ")} {typing.length === 1 ? "is" : "are"} typing…
        </span>
      )}
    </div>
  );
}

/** GET /api/staff/agents (empty when unavailable). */
async function fetchAgents(): Promise<AssignableAgent[]> {
  const res = await fetch("/api/staff/agents", { credentials: "same-origin", cache: "no-store" }).catch(() => null);
  if (!res?.ok) return [];
  const json = (await res.json()) as { agents?: AssignableAgent[] };
  return json.agents ?? [];
}

/** Reassigning to another agent: the list is fetched when opened, so it shows who is online now. */
function Reassign({ disabled, current, onAssign }: { disabled: boolean; current: string | null; onAssign: (staffId: string) => void }) {
  const [agents, setAgents] = useState<AssignableAgent[] | null>(null);
  const [choice, setChoice] = useState("");
  return (
    <span className="live-reassign">
      <select
        aria-label="Assign to"
        value={choice}
        onFocus={() => void fetchAgents().then(setAgents)}
        onChange={(e) => setChoice(e.target.value)}
        disabled={disabled}
      >
        <option value="">{agents === null ? "Assign to…" : "Choose an agent…"}</option>
        {agents
          ?.filter((a) => a.id !== current)
          .map((a) => (
            <option key={a.id} value={a.id}>
              {a.name} · {a.availability === "online" ? "online" : "away"} · {a.openChats} open
            </option>
          ))}
      </select>
      <button
        type="button"
        className={styles.btn}
        disabled={disabled || choice === ""}
        onClick={() => {
          onAssign(choice);
          setChoice("");
        }}
      >
        Assign
      </button>
    </span>
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

/** Messages in order with the notes placed by time between them (a note older than the loaded page comes first). */
function timeline(messages: LiveMessage[], notes: StaffNote[]): (LiveMessage | StaffNote)[] {
  const out: (LiveMessage | StaffNote)[] = [];
  let next = 0;
  for (const m of messages) {
    while (next < notes.length && notes[next]!.createdAt <= m.createdAt) out.push(notes[next++]!);
    out.push(m);
  }
  return out.concat(notes.slice(next));
}

function MessageItem({ m, labels }: { m: LiveMessage; labels: string[] }) {
  return (
    <li className={`live-msg live-msg-${m.role}`} data-role={m.role} data-status={m.replyStatus ?? ""} data-message-id={m.id}>
      <div className="live-msg-head">
        <span className="live-author">{authorLabel(m)}</span>
        {!m.pending && <Ago iso={m.createdAt} />}
      </div>
      {m.role === "bot" && m.pending && m.text === "" ? <span className="live-typing">Typing…</span> : <div className="live-text">{m.text}</div>}
      {m.role === "bot" && m.replyStatus === "stopped" && <span className="live-note">(stopped)</span>}
      {m.role === "bot" && m.replyStatus === "failed" && <span className="live-note">(no answer)</span>}
      {m.role === "customer" && <IntentLabelControl key={`${m.id}:${m.intent ?? ""}`} message={m} labels={labels} compact />}
      {m.role === "bot" && !m.pending && <ReplyGrounding message={m} />}
      {m.role === "bot" && !m.pending && <ReplyFeedbackControl message={m} />}
      {m.role === "agent" && !m.pending && <LmExampleControl message={m} />}
    </li>
  );
}

function NoteItem({ note }: { note: StaffNote }) {
  return (
    <li className="live-msg live-msg-private" data-role="note" data-note-id={note.id}>
      <div className="live-msg-head">
        <span className="live-author">Private note · {note.authorName ?? "former staff"}</span>
        <Ago iso={note.createdAt} />
      </div>
      <div className="live-text">{note.text}</div>
    </li>
  );
}
