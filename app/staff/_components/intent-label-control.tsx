"use client";
/**
 * Staff's verdict on a customer message's intent (confirm or correct), rendered under each customer
 * message of a transcript and in the review queue.
 *
 * Confirming takes one click (✓ Confirm), correcting two (Correct ▾, then the intent).
 * Keyboard, while an IntentLabelControl has focus: Enter confirms the predicted intent, 1–9 save the
 * nth intent of the list at once (1 is the predicted one, 2 the runner-up, then alphabetical), ↓ or
 * c opens the list (arrows move, Enter picks, Esc closes).
 */
import { useId, useRef, useState, type KeyboardEvent, type Ref } from "react";
import type { StaffMessage } from "@/lib/protocol/staff";
import { confidenceLevel, percent } from "@/app/_console/format";
import { Ago } from "@/app/_console/time";
import styles from "@/app/_console/console.module.css";
import { ConfidenceBar } from "./confidence-bar";
import { postMessageUpdate } from "./message-update";

/** The order of the intent list: predicted, runner-up, then the rest alphabetically. */
export function intentOptions(message: Pick<StaffMessage, "intent" | "runnerUpIntent">, labels: readonly string[]): string[] {
  const first = [message.intent, message.runnerUpIntent].filter((x): x is string => !!x);
  const rest = [...new Set(labels)].filter((l) => !first.includes(l)).sort();
  return [...new Set(first), ...rest];
}

export function IntentLabelControl({
  message,
  labels,
  onLabelled,
  ref,
  compact = false,
}: {
  message: StaffMessage;
  labels: string[];
  /** Called with the updated message once a label is stored. */
  onLabelled?: (message: StaffMessage) => void;
  /** The focusable group (the review queue moves focus between controls). */
  ref?: Ref<HTMLDivElement>;
  compact?: boolean;
}) {
  // The server's answer to our own label wins until the parent passes a newer message.
  const [saved, setSaved] = useState<StaffMessage | null>(null);
  const current = saved && saved.id === message.id && labelTime(saved) >= labelTime(message) ? saved : message;
  const options = intentOptions(current, labels);
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [menuOpen, setMenuOpen] = useState(false);
  const group = useRef<HTMLDivElement | null>(null);
  const menu = useRef<HTMLDivElement | null>(null);
  const menuId = useId();

  const predicted = current.intent;
  const label = current.latestLabel;
  const confirmed = label?.source === "confirmed" && label.intent === predicted;

  async function save(intent: string) {
    if (!intent || pending) return;
    setPending(intent);
    setError(null);
    setMenuOpen(false);
    const r = await postMessageUpdate(`/api/staff/messages/${encodeURIComponent(message.id)}/label`, { intent });
    setPending(null);
    if (!r.ok) {
      setError(r.message);
      return;
    }
    setSaved(r.message);
    onLabelled?.(r.message);
  }

  function openMenu() {
    setMenuOpen(true);
    // Focus the first intent once the menu is rendered.
    requestAnimationFrame(() => menu.current?.querySelector<HTMLButtonElement>("button")?.focus());
  }

  function closeMenu(refocus: boolean) {
    setMenuOpen(false);
    if (refocus) group.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.nativeEvent.isComposing) return;
    const inMenu = !!menu.current && menu.current.contains(e.target as Node);
    if (e.key === "Escape" && menuOpen) {
      e.preventDefault();
      closeMenu(true);
    } else if (/^[1-9]$/.test(e.key)) {
      const intent = options[Number(e.key) - 1];
      if (intent) {
        e.preventDefault();
        void save(intent);
      }
    } else if (inMenu && (e.key === "ArrowDown" || e.key === "ArrowUp" || e.key === "ArrowLeft" || e.key === "ArrowRight")) {
      e.preventDefault();
      const items = [...menu.current!.querySelectorAll<HTMLButtonElement>("button")];
      const i = items.indexOf(e.target as HTMLButtonElement);
      const step = e.key === "ArrowDown" || e.key === "ArrowRight" ? 1 : -1;
      items[(i + step + items.length) % items.length]?.focus();
    } else if (e.target === e.currentTarget) {
      // Keys on the control itself (not on one of its buttons).
      if (e.key === "Enter" && predicted) {
        e.preventDefault();
        void save(predicted);
      } else if (e.key === "ArrowDown" || e.key === "c") {
        e.preventDefault();
        openMenu();
      }
    }
  }

  return (
    <div
      ref={(el) => {
        group.current = el;
        if (typeof ref === "function") ref(el);
        else if (ref) (ref as { current: HTMLDivElement | null }).current = el;
      }}
      className={`${styles.labelControl} ${compact ? styles.compact : ""} ${label ? styles.isLabelled : ""}`}
      role="group"
      aria-label={predicted ? `Intent: ${predicted}` : "Intent"}
      tabIndex={0}
      onKeyDown={onKeyDown}
      onBlur={(e) => {
        if (menuOpen && !e.currentTarget.contains(e.relatedTarget as Node | null)) setMenuOpen(false);
      }}
      data-message-id={message.id}
      data-label-source={label?.source ?? ""}
    >
      <div className={styles.prediction}>
        {predicted ? (
          <>
            <span className={styles.intentName} title={current.classifierVersion ? `Predicted by classifier ${current.classifierVersion}` : "Predicted intent"}>
              {predicted}
            </span>
            <ConfidenceBar p={current.intentProbability} />
            <span className={`${styles.prob} ${styles[`text_${confidenceLevel(current.intentProbability)}`]}`}>
              {percent(current.intentProbability)}
            </span>
            {current.runnerUpIntent && (
              <span className={styles.runnerUp}>
                runner-up <b>{current.runnerUpIntent}</b> {percent(current.runnerUpProbability)}
              </span>
            )}
          </>
        ) : (
          <span className={styles.muted}>Not classified</span>
        )}
      </div>

      <div className={styles.labelActions}>
        {predicted && (
          <button
            type="button"
            className={`${styles.btn} ${styles.btnConfirm} ${confirmed ? styles.pressed : ""}`}
            onClick={() => void save(predicted)}
            disabled={pending !== null}
            aria-pressed={confirmed}
            title="Confirm the predicted intent (Enter or 1)"
          >
            {pending === predicted ? "Saving…" : confirmed ? "✓ Confirmed" : "✓ Confirm"}
          </button>
        )}
        <span className={styles.menuWrap}>
          <button
            type="button"
            className={`${styles.btn} ${label?.source === "corrected" ? styles.btnCorrected : ""}`}
            onClick={() => (menuOpen ? closeMenu(false) : openMenu())}
            disabled={pending !== null || options.length === 0}
            aria-haspopup="menu"
            aria-expanded={menuOpen}
            aria-controls={menuOpen ? menuId : undefined}
            title="Pick the right intent (1–9, or ↓ for the list)"
          >
            {pending && pending !== predicted ? "Saving…" : label?.source === "corrected" ? `→ ${label.intent}` : "Correct"} ▾
          </button>
          {menuOpen && (
            <div ref={menu} id={menuId} role="menu" aria-label="Intents" className={styles.menu}>
              {options.map((o, i) => (
                <button
                  key={o}
                  type="button"
                  role="menuitem"
                  className={`${styles.menuItem} ${label?.intent === o ? styles.menuItemCurrent : ""}`}
                  onClick={() => void save(o)}
                >
                  <span className={styles.menuKey}>{i < 9 ? i + 1 : ""}</span>
                  <span className={styles.menuLabel}>{o}</span>
                  {o === predicted && <span className={styles.menuNote}>predicted</span>}
                  {o === current.runnerUpIntent && <span className={styles.menuNote}>runner-up</span>}
                </button>
              ))}
            </div>
          )}
        </span>
      </div>

      {(error || label || !compact) && (
        <div className={styles.labelStatus} aria-live="polite">
          {error ? (
            <span className={styles.errorText} role="alert">
              {error}
            </span>
          ) : label ? (
            <span className={label.source === "corrected" ? styles.correctedText : styles.confirmedText}>
              {label.source === "corrected" ? (
                <>
                  Corrected to <b>{label.intent}</b>
                </>
              ) : (
                <>Confirmed</>
              )}{" "}
              by {label.labeledBy} · <Ago iso={label.createdAt} />
            </span>
          ) : (
            <span className={styles.muted}>Not reviewed — Enter confirms, 1–9 pick an intent</span>
          )}
        </div>
      )}
    </div>
  );
}

function labelTime(m: StaffMessage): number {
  return m.latestLabel ? Date.parse(m.latestLabel.createdAt) : 0;
}

