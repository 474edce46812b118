"use client";
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { MAX_MESSAGE_CHARS } from "@/lib/protocol";
import { useChat } from "./use-chat";

/** The customer chat: the page at / and the widget's iframe render this same component. */
export function ChatPanel({ compact = false }: { compact?: boolean }) {
  const { messages, connected, status, error, send, stop, newConversation } = useChat();
  const [draft, setDraft] = useState("");
  const listRef = useRef<HTMLOListElement>(null);
  const streaming = messages.find((m) => m.role === "bot" && m.pending);

  useEffect(() => {
    listRef.current?.scrollTo({ top: listRef.current.scrollHeight });
  }, [messages]);

  function submit(e?: FormEvent) {
    e?.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    void send(text);
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey) submit(e);
  }

  return (
    <section className={compact ? "chat chat-compact" : "chat"} aria-label="Support chat">
      <div className="chat-bar">
        <span className={connected ? "dot dot-on" : "dot"} aria-hidden /> {connected ? "Support is online" : "Connecting…"}
        <button type="button" className="link" onClick={newConversation}>New conversation</button>
      </div>
      <ol className="messages" ref={listRef} data-testid="messages">
        {messages.length === 0 && <li className="hint">Hi! Ask us anything about your order, shipping or returns.</li>}
        {messages.map((m) => (
          <li key={m.id} className={`msg msg-${m.role}`} data-role={m.role} data-status={m.replyStatus ?? ""}>
            {m.role === "bot" && m.pending && m.text === "" ? (
              <span className="typing" data-testid="typing">{m.queued ? "Waiting for the assistant…" : "Typing…"}</span>
            ) : (
              <span className="text">{m.text}</span>
            )}
            {m.replyStatus === "stopped" && <span className="note"> (stopped)</span>}
            {m.replyStatus === "failed" && <span className="note"> (no answer)</span>}
          </li>
        ))}
      </ol>
      {status === "waiting_for_agent" && <p className="notice" data-testid="waiting">Waiting for a member of our team to join…</p>}
      {error && <p className="error" role="alert">{error.message}</p>}
      <form className="composer" onSubmit={submit}>
        <textarea
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
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
    </section>
  );
}
