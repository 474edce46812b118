"use client";
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { MAX_MESSAGE_CHARS, MAX_RATING_COMMENT_CHARS } from "@/lib/protocol/chat";
import { ASK_FOR_HUMAN, ClarifyButtons, EmailForm, ReplyFeedback, ReplySources } from "./reply-extras";
import { useChat, type UiMessage } from "./use-chat";

/** The customer chat: the page at / and the widget's iframe render this same component. */
export function ChatPanel({ compact = false }: { compact?: boolean }) {
  const { messages, olderCursor, loadOlder, connected, status, error, rating, agentTyping, send, stop, newConversation, typing, rate, feedback, clarify, leaveEmail, emailFollowUp } = useChat();
  const [draft, setDraft] = useState("");
  const listRef = useRef<HTMLOListElement>(null);
  const streaming = messages.find((m) => m.role === "bot" && m.pending);

  // Follow the newest message (not an older page put in front of the list).
  const newest = messages.at(-1);
  useEffect(() => {
    listRef.current?.scrollTo({ top: listRef.current.scrollHeight });
  }, [newest, agentTyping]);

  function submit(e?: FormEvent) {
    e?.preventDefault();
    const text = draft.trim();
    if (!text || !connected) return;
    setDraft("");
    // A message the server refused (or never got) goes back into an empty composer, not lost.
    void send(text).then((ok) => {
      if (!ok) setDraft((d) => (d === "" ? text : d));
    });
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter while an input method is composing (Japanese, Chinese…) confirms the composition.
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) submit(e);
  }

  return (
    <section className={compact ? "chat chat-compact" : "chat"} aria-label="Support chat">
      <div className="chat-bar">
        <span className={connected ? "dot dot-on" : "dot"} aria-hidden /> {connected ? "Support is online" : "Connecting…"}
        <button type="button" className="link" onClick={newConversation}>New conversation</button>
      </div>
      <ol className="messages" ref={listRef} data-testid="messages">
        {messages.length === 0 && <li className="hint">Hi! Ask us anything about your order, shipping or returns.</li>}
        {olderCursor && (
          <li className="hint">
            <button type="button" className="link" onClick={() => void loadOlder()}>Show earlier messages</button>
          </li>
        )}
        {messages.map((m) => (
          <li key={m.clientMessageId ?? m.id} className={`msg msg-${m.role}`} data-role={m.role} data-status={m.replyStatus ?? ""}>
            {m.role === "bot" && m.pending && m.text === "" ? (
              <span className="typing" data-testid="typing">{m.queued ? "Waiting for the assistant…" : "Typing…"}</span>
            ) : (
              <span className="text">{m.text}</span>
            )}
            {m.replyStatus === "stopped" && <span className="note"> (stopped)</span>}
            {m.replyStatus === "failed" && <span className="note"> (no answer)</span>}
            {m.replyStatus === "interrupted" && <span className="note"> (interrupted)</span>}
            {m.role === "bot" && m.replyStatus === "complete" && (
              <>
                <ReplySources sources={m.sources ?? []} newTab={compact} />
                {m.askEmail && status !== "closed" && <EmailForm onSubmit={leaveEmail} />}
                {m.clarify ? (
                  <ClarifyButtons options={m.clarify} answered={clarificationAnswered(messages, m)} onPick={(intent) => clarify(m.id, intent)} />
                ) : (
                  <ReplyFeedback
                    helpful={m.helpful ?? null}
                    onFeedback={(helpful) => void feedback(m.id, helpful)}
                    canAskForHuman={status === "bot"}
                    onAskForHuman={() => void send(ASK_FOR_HUMAN)}
                  />
                )}
              </>
            )}
          </li>
        ))}
        {agentTyping && status === "agent" && (
          <li className="msg msg-agent agent-typing" data-testid="agent-typing" aria-live="polite">
            <span className="typing">{agentTyping} is typing…</span>
          </li>
        )}
      </ol>
      {status === "waiting_for_agent" && <p className="notice" data-testid="waiting">Waiting for a member of our team to join…</p>}
      {error && <p className="error" role="alert">{error.message}</p>}
      {status === "closed" && <RatingPanel rating={rating} rate={rate} newConversation={newConversation} />}
      {status === "closed" && emailFollowUp && <p className="notice" data-testid="reopen-hint">Write below to continue this conversation with our team.</p>}
      {(status !== "closed" || emailFollowUp) && (
        <form className="composer" onSubmit={submit}>
          <textarea
            value={draft}
            onChange={(e) => {
              setDraft(e.target.value);
              if (e.target.value.trim() !== "") typing();
            }}
            onKeyDown={onKeyDown}
            maxLength={MAX_MESSAGE_CHARS}
            placeholder="Type your message…"
            aria-label="Message"
            rows={compact ? 2 : 3}
          />
          {streaming ? (
            <button type="button" onClick={() => stop(streaming.id)}>Stop</button>
          ) : (
            <button type="submit" disabled={!connected || draft.trim() === ""}>Send</button>
          )}
        </form>
      )}
    </section>
  );
}

/** A clarifying question is answered once another bot reply answers the same customer message. */
function clarificationAnswered(messages: UiMessage[], question: UiMessage): boolean {
  return question.replyToId !== null && messages.some((x) => x.role === "bot" && x.id !== question.id && x.replyToId === question.replyToId);
}

/** When staff close the conversation: a 1–5 rating with an optional comment, then a thank-you. */
function RatingPanel({
  rating,
  rate,
  newConversation,
}: {
  rating: number | null;
  rate: (value: number, comment: string) => Promise<{ message: string } | null>;
  newConversation: () => void;
}) {
  const [value, setValue] = useState<number | null>(null);
  const [comment, setComment] = useState("");
  const [pending, setPending] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (value === null || pending) return;
    setPending(true);
    setFailure(null);
    const err = await rate(value, comment);
    setPending(false);
    if (err) setFailure(err.message);
  }

  if (rating !== null) {
    return (
      <div className="rating rating-done" data-testid="rating-thanks">
        <p>Thank you for your feedback!</p>
        <button type="button" onClick={newConversation}>Start a new conversation</button>
      </div>
    );
  }
  return (
    <form className="rating" onSubmit={submit} data-testid="rating-form" aria-label="Rate this conversation">
      <p id="rating-question">This chat has ended. How did we do?</p>
      <div className="rating-scale" role="radiogroup" aria-labelledby="rating-question">
        {[1, 2, 3, 4, 5].map((n) => (
          <button
            key={n}
            type="button"
            role="radio"
            aria-checked={value === n}
            aria-label={`${n} out of 5`}
            className={value === n ? "rating-choice rating-chosen" : "rating-choice"}
            onClick={() => setValue(n)}
          >
            {n}
          </button>
        ))}
      </div>
      <textarea
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        maxLength={MAX_RATING_COMMENT_CHARS}
        placeholder="Anything you would like to tell us? (optional)"
        aria-label="Comment (optional)"
        rows={2}
      />
      {failure && <p className="error" role="alert">{failure}</p>}
      <div className="rating-actions">
        <button type="submit" disabled={value === null || pending}>Send rating</button>
        <button type="button" className="link" onClick={newConversation}>Start a new conversation</button>
      </div>
    </form>
  );
}
