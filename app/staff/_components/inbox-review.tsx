"use client";
/**
 * The review queue: customer messages nobody has reviewed, the classifier's least sure first
 * (smallest gap between its top two intents). Keyboard-driven: j/k move, Enter confirms, 1–9 pick
 * an intent (1 = predicted, 2 = runner-up), o opens the conversation. A labelled message is
 * dimmed and the next one gets the focus.
 */
import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import type { Page, ReviewItem, StaffMessage } from "@/lib/protocol/staff";
import { shortId } from "@/app/_console/format";
import { Ago } from "@/app/_console/time";
import { IntentLabelControl } from "./intent-label-control";
import { ErrorAlert } from "@/app/_console/error-alert";
import styles from "@/app/_console/console.module.css";

export function InboxReview({ initial, labels, backlog: initialBacklog }: { initial: Page<ReviewItem>; labels: string[]; backlog: number }) {
  const [items, setItems] = useState(initial.items);
  const [cursor, setCursor] = useState(initial.nextCursor);
  const [done, setDone] = useState<Map<string, StaffMessage>>(new Map());
  const [active, setActive] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const controls = useRef(new Map<string, HTMLDivElement>());
  const itemsRef = useRef(items);
  itemsRef.current = items;

  const focusIndex = useCallback((i: number) => {
    const list = itemsRef.current;
    if (list.length === 0) return;
    const index = Math.max(0, Math.min(list.length - 1, i));
    setActive(index);
    const id = list[index]?.message.id;
    const el = id ? controls.current.get(id) : undefined;
    el?.focus({ preventScroll: true });
    el?.closest("li")?.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }, []);

  const loadMore = useCallback(async () => {
    if (!cursor || loading) return;
    setLoading(true);
    try {
      const res = await fetch(`/api/staff/review?cursor=${encodeURIComponent(cursor)}`, { cache: "no-store" });
      if (res.status === 401) return window.location.assign("/staff/login?next=/staff/review");
      const body = (await res.json()) as Page<ReviewItem> & { error?: { message?: string } };
      if (!res.ok) return setError(body.error?.message ?? `Could not load more (${res.status}).`);
      setItems((list) => {
        const seen = new Set(list.map((x) => x.message.id));
        return [...list, ...body.items.filter((x) => !seen.has(x.message.id))];
      });
      setCursor(body.nextCursor);
    } catch {
      setError("Network error — try again.");
    } finally {
      setLoading(false);
    }
  }, [cursor, loading]);

  useEffect(() => {
    focusIndex(0);
  }, [focusIndex]);

  // Keep a few items ahead loaded.
  useEffect(() => {
    if (items.length - active <= 5) void loadMore();
  }, [active, items.length, loadMore]);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
      if (e.key === "j") {
        e.preventDefault();
        focusIndex(active + 1);
      } else if (e.key === "k") {
        e.preventDefault();
        focusIndex(active - 1);
      } else if (e.key === "o") {
        const item = itemsRef.current[active];
        if (item) window.open(`/staff/conversations/${item.message.conversationId}`, "_blank", "noopener");
      }
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [active, focusIndex]);

  function onLabelled(index: number, m: StaffMessage) {
    setDone((d) => new Map(d).set(m.id, m));
    // On to the next message nobody has labelled yet.
    const list = itemsRef.current;
    let next = index + 1;
    while (next < list.length && done.has(list[next]!.message.id)) next++;
    if (next < list.length) setTimeout(() => focusIndex(next), 120);
  }

  const remaining = Math.max(0, initialBacklog - done.size);
  const corrected = [...done.values()].filter((m) => m.latestLabel?.source === "corrected").length;

  return (
    <>
      <div className={styles.header}>
        <h1>Review intents</h1>
        <span className={styles.headerNote}>Least confident first — smallest gap between the top two intents</span>
      </div>
      <ErrorAlert error={error} />
      <div className={styles.reviewLayout}>
        <div>
          <ol className={styles.reviewList} aria-label="Messages to review">
            {items.map((item, i) => {
              const m = done.get(item.message.id) ?? item.message;
              return (
                <li
                  key={item.message.id}
                  className={`${styles.card} ${styles.reviewItem} ${i === active ? styles.reviewActive : ""} ${done.has(m.id) ? styles.reviewDone : ""}`}
                  onFocusCapture={() => setActive(i)}
                  data-review-index={i}
                >
                  <div className={styles.reviewTop}>
                    <Link href={`/staff/conversations/${m.conversationId}`} target="_blank">
                      Conversation #{shortId(m.conversationId)}
                    </Link>
                    <span>·</span>
                    <Ago iso={m.createdAt} />
                    <span className={styles.margin} title="Top intent's probability minus the runner-up's">
                      margin {item.margin.toFixed(2)}
                    </span>
                  </div>
                  {item.previousText && <p className={styles.context}>↳ after: {item.previousText}</p>}
                  <p className={styles.reviewText}>{m.text}</p>
                  <IntentLabelControl
                    message={m}
                    labels={labels}
                    onLabelled={(x) => onLabelled(i, x)}
                    ref={(el) => {
                      if (el) controls.current.set(item.message.id, el);
                      else controls.current.delete(item.message.id);
                    }}
                  />
                </li>
              );
            })}
          </ol>
          {items.length === 0 && <div className={`${styles.card} ${styles.empty}`}>Nothing to review — every customer message has a label.</div>}
          {cursor && (
            <div className={styles.pager}>
              <span />
              <button type="button" className={styles.btn} onClick={() => void loadMore()} disabled={loading}>
                {loading ? "Loading…" : "Load more"}
              </button>
            </div>
          )}
        </div>
        <aside className={`${styles.card} ${styles.keys}`} aria-label="Progress and keyboard shortcuts">
          <h2>Progress</h2>
          <div className={styles.stat} data-testid="review-remaining">{remaining.toLocaleString()}</div>
          <div className={styles.muted} style={{ marginBottom: 14 }}>
            left to review · {done.size} done here{done.size ? `, ${corrected} corrected` : ""}
          </div>
          <h2>Keys</h2>
          <dl>
            <dt><span className={styles.kbd}>j</span> <span className={styles.kbd}>k</span></dt>
            <dd>next / previous</dd>
            <dt><span className={styles.kbd}>Enter</span></dt>
            <dd>confirm the prediction</dd>
            <dt><span className={styles.kbd}>1</span>–<span className={styles.kbd}>9</span></dt>
            <dd>save intent n (1 = predicted, 2 = runner-up)</dd>
            <dt><span className={styles.kbd}>↓</span> <span className={styles.kbd}>c</span></dt>
            <dd>open the intent list (↑ ↓, Enter, Esc)</dd>
            <dt><span className={styles.kbd}>o</span></dt>
            <dd>open the conversation</dd>
          </dl>
        </aside>
      </div>
    </>
  );
}
