/**
 * Under a bot reply in the staff transcript: what the reply rests on (its help-centre sources, the
 * sentence check: each generated sentence sent or dropped and why, or replaced by quoted facts, or the
 * facts quoted without the model under load; the clarifying options offered) and the customer's 👍/👎.
 * Set apart from the reply's own text.
 */
import type { ReplyCheck } from "@/lib/protocol/chat";
import type { StaffMessage } from "@/lib/protocol/staff";
import styles from "./reply-grounding.module.css";

const REASONS: Record<NonNullable<ReplyCheck["sentences"][number]["reason"]>, string> = {
  invented: "invented detail",
  unsupported: "not supported by the facts",
  contradicts: "contradicts the facts",
  meta: "talks about the chat",
  repeats: "repeats itself",
  incomplete: "cut off",
  does_not_cover: "does not cover the question",
};

/** "0.4 s", "12.5 s": the wait estimates are around a few seconds. */
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function ReplyGrounding({ message }: { message: Pick<StaffMessage, "grounding" | "customerHelpful"> }) {
  const { grounding, customerHelpful } = message;
  const check = grounding?.check;
  // Template replies (thanks, handoff) carry an empty grounding: nothing to show for them.
  const grounded = !!grounding && (grounding.sources.length > 0 || !!check || !!grounding.clarify || !!grounding.clarifiedIntent);
  if (!grounded && customerHelpful === null) return null;
  return (
    <div className={styles.grounding} data-testid="reply-grounding">
      {grounding && grounding.sources.length > 0 && (
        <div>
          Sources:{" "}
          {grounding.sources.map((s, i) => (
            <span key={s.slug}>
              {i > 0 && ", "}
              <a href={s.url} target="_blank" rel="noopener noreferrer">
                {s.title}
              </a>
            </span>
          ))}
        </div>
      )}
      {grounding?.clarify && <div>Asked to clarify: {grounding.clarify.map((o) => o.title).join(" / ")}</div>}
      {grounding?.clarifiedIntent && <div>Answers the customer&apos;s pick: {grounding.clarifiedIntent}</div>}
      {check && (
        <details>
          <summary>
            {check.underLoad ? (
              <strong className={styles.replaced} data-testid="reply-under-load">
                Quoted without the model, under load: generation was {seconds(check.underLoad.expectedWaitMs)} away (bound{" "}
                {seconds(check.underLoad.boundMs)})
              </strong>
            ) : (
              <>
                Checked: {check.sentences.filter((s) => s.sent).length} of {check.sentences.length} sentences sent
                {check.replaced && <strong className={styles.replaced}> · replaced by quoted facts</strong>}
              </>
            )}
          </summary>
          <ol className={styles.sentences}>
            {check.sentences.map((s, i) => (
              <li key={i} className={s.sent ? styles.sent : styles.dropped} data-sent={s.sent}>
                {s.sent ? "✓ " : "✗ "}
                {s.text}
                {!s.sent && s.reason && (
                  <span className={styles.reason}>
                    {" "}
                    — dropped: {REASONS[s.reason]}
                    {s.detail && ` (${s.detail})`}
                  </span>
                )}
              </li>
            ))}
          </ol>
          {check.quoted.length > 0 && <div>Quoted facts: {check.quoted.join(", ")}</div>}
        </details>
      )}
      {customerHelpful !== null && (
        <div data-testid="customer-helpful">Customer: {customerHelpful ? "👍 helpful" : "👎 not helpful"}</div>
      )}
    </div>
  );
}
