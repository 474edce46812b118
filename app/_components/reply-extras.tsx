"use client";
/**
 * What the customer chat shows under a bot reply: its help-centre sources, "Did this answer your
 * question?" 👍/👎 (a 👎 offers a person), and the option buttons of a clarifying question.
 */
import { useState } from "react";
import type { ClarifyOption, ReplySource } from "@/lib/protocol/chat";

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
