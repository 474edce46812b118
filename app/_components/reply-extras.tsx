"use client";
/**
 * What the customer chat shows under a bot reply: its help-centre sources, "Did this answer your
 * question?" 👍/👎 (a 👎 offers a person), the option buttons of a clarifying question, and the email
 * form under a handoff no agent can take now.
 */
import { useState, type FormEvent } from "react";
import { MAX_EMAIL_CHARS, type ClarifyOption, type ReplySource } from "@/lib/protocol/chat";
import type { ChatError } from "@/lib/protocol/errors";

/** The text a "Talk to a person" click sends: the classifier hands such a message over to staff. */
export const ASK_FOR_HUMAN = "talk to a human";

/** One "From our help centre" link per source; the widget opens them in a new tab (it lives in an iframe). */
export function ReplySources({ sources, newTab }: { sources: ReplySource[]; newTab: boolean }) {
  if (sources.length === 0) return null;
  return (
    <ul className="reply-sources" aria-label="Sources">
      {sources.map((s) => (
        <li key={s.slug}>
          From our help centre:{" "}
          <a href={s.url} {...(newTab ? { target: "_blank", rel: "noopener noreferrer" } : {})}>
            {s.title}
          </a>
        </li>
      ))}
    </ul>
  );
}

/**
 * 👍/👎, once: after a pick, thanks and both buttons disabled (the pick stays pressed). A 👎 offers a
 * person while the bot still has the conversation.
 */
export function ReplyFeedback({
  helpful,
  onFeedback,
  canAskForHuman,
  onAskForHuman,
}: {
  helpful: boolean | null;
  onFeedback: (helpful: boolean) => void;
  canAskForHuman: boolean;
  onAskForHuman: () => void;
}) {
  const given = helpful !== null;
  return (
    <div className="reply-feedback" role="group" aria-label="Did this answer your question?">
      {given ? <span>Thanks for your feedback</span> : <span>Did this answer your question?</span>}
      <button type="button" className="feedback-choice" aria-label="Helpful" aria-pressed={helpful === true} disabled={given} onClick={() => onFeedback(true)}>
        👍
      </button>
      <button type="button" className="feedback-choice" aria-label="Not helpful" aria-pressed={helpful === false} disabled={given} onClick={() => onFeedback(false)}>
        👎
      </button>
      {helpful === false && canAskForHuman && (
        <button type="button" className="link" onClick={onAskForHuman}>
          Talk to a person
        </button>
      )}
    </div>
  );
}

/** "Do you mean …?": one button per option; a click answers it, and then every button is disabled. */
export function ClarifyButtons({
  options,
  answered,
  onPick,
}: {
  options: ClarifyOption[];
  answered: boolean;
  onPick: (intent: string) => Promise<boolean>;
}) {
  const [picked, setPicked] = useState<string | null>(null);

  async function pick(intent: string) {
    setPicked(intent);
    if (!(await onPick(intent))) setPicked(null); // refused or unreachable: the customer may try again
  }

  return (
    <div className="clarify-options" role="group" aria-label="Do you mean…">
      {options.map((o) => (
        <button
          key={o.intent}
          type="button"
          className={picked === o.intent ? "clarify-choice clarify-chosen" : "clarify-choice"}
          disabled={answered || picked !== null}
          onClick={() => void pick(o.intent)}
        >
          {o.title}
        </button>
      ))}
    </div>
  );
}

/** Under a handoff no agent can take now: the customer's email address for the agent's reply. */
export function EmailForm({ onSubmit }: { onSubmit: (email: string) => Promise<ChatError | null> }) {
  const [email, setEmail] = useState("");
  const [state, setState] = useState<{ sent: string } | { error: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    const refused = await onSubmit(email);
    setBusy(false);
    setState(refused ? { error: refused.message } : { sent: email.trim() });
  }

  if (state && "sent" in state) return <p className="email-left" data-testid="email-left">We&apos;ll email {state.sent} when our team replies.</p>;
  return (
    <form className="email-form" onSubmit={(e) => void submit(e)} aria-label="Email me the reply">
      <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="you@example.com" aria-label="Your email address" maxLength={MAX_EMAIL_CHARS} required />
      <button type="submit" disabled={busy || email.trim() === ""}>Email me the reply</button>
      {state && "error" in state && <p className="error" role="alert">{state.error}</p>}
    </form>
  );
}
