"use client";
/** The waiting queue: conversations waiting for an agent, the longest waiting first, wait times ticking. */
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import type { ConversationSummary } from "@/lib/protocol/staff";
import { duration, shortId } from "@/app/_console/format";
import { LiveIndicator } from "@/app/_console/live-socket";
import { useInboxLive } from "./inbox-live";
import { Ago, Elapsed, useNow } from "@/app/_console/time";
import { IntentCells } from "./intent-cells";
import { ErrorAlert } from "@/app/_console/error-alert";
import { TableCard } from "@/app/_console/table-card";
import styles from "@/app/_console/console.module.css";

/** Waits longer than this show in red. */
const LONG_WAIT_MS = 5 * 60_000;

export function InboxQueue({ initial }: { initial: ConversationSummary[] }) {
  const router = useRouter();
  const [items, setItems] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();

  const live = useInboxLive(async () => {
    try {
      const res = await fetch("/api/staff/queue", { cache: "no-store" });
      if (res.status === 401) return window.location.assign("/staff/login?next=/staff/queue");
      const body = (await res.json()) as { items?: ConversationSummary[]; error?: { message?: string } };
      if (!res.ok || !body.items) return setError(body.error?.message ?? `Could not refresh (${res.status}).`);
      setError(null);
      setItems(body.items);
    } catch {
      setError("Network error — will retry.");
    }
  });

  const oldest = items[0]?.waitingSince;
  return (
    <>
      <div className={styles.header}>
        <h1>Waiting for an agent</h1>
        <span className={styles.headerNote}>Longest waiting first</span>
        <span className={styles.headerRight}>
          <LiveIndicator state={live} />
        </span>
      </div>
      <div className={styles.header} style={{ gap: 28 }}>
        <div>
          <div className={styles.stat} data-testid="queue-count">{items.length}</div>
          <div className={styles.muted}>waiting</div>
        </div>
        <div>
          <div className={styles.stat} suppressHydrationWarning>{oldest ? duration(now - Date.parse(oldest)) : "–"}</div>
          <div className={styles.muted}>longest wait</div>
        </div>
      </div>
      <ErrorAlert error={error} />
      <TableCard label="Waiting conversations" empty={items.length > 0 ? null : "Nobody is waiting."}>
        <thead>
          <tr>
            <th>#</th>
            <th>Waiting for</th>
            <th>Last message</th>
            <th>Top intent</th>
            <th>Lowest confidence</th>
            <th>Last activity</th>
          </tr>
        </thead>
        <tbody>
          {items.map((c, i) => (
            <tr
              key={c.id}
              onClick={(e) => {
                if ((e.target as HTMLElement).closest("a")) return;
                router.push(`/staff/conversations/${c.id}`);
              }}
              data-conversation-id={c.id}
            >
              <td className={`${styles.num} ${styles.muted}`}>{i + 1}</td>
              <td className={styles.nowrap}>
                {c.waitingSince ? (
                  <Elapsed iso={c.waitingSince} className={`${styles.wait} ${now - Date.parse(c.waitingSince) > LONG_WAIT_MS ? styles.waitLong : ""}`} />
                ) : (
                  "–"
                )}
              </td>
              <td>
                <Link href={`/staff/conversations/${c.id}`} className={styles.rowLink}>
                  <div className={styles.preview}>{c.lastMessagePreview || <span className={styles.muted}>(no messages yet)</span>}</div>
                  <div className={styles.muted} style={{ fontSize: 12 }}>
                    #{shortId(c.id)}
                  </div>
                </Link>
              </td>
              <IntentCells conversation={c} />
              <td className={`${styles.nowrap} ${styles.muted}`}>
                <Ago iso={c.lastMessageAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </TableCard>
    </>
  );
}
