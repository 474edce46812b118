"use client";
/**
 * The staff inbox: filters, full-text search, the conversation table (newest activity first) and
 * keyset paging; rows refresh live on `inbox:changed`. The filters live in the URL (shareable,
 * survive a reload); the server page renders the first page of the same URL.
 */
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useRef, useState, type FormEvent, type ReactNode } from "react";
import type { ConversationSummary, Page } from "@/lib/protocol/staff";
import { STATUS_LABELS } from "@/lib/protocol/staff";
import { Stars } from "./stars";
import { StatusBadge } from "./status-badge";
import { shortId } from "@/app/_console/format";
import { EMPTY_FORM, type InboxFormValues } from "./inbox-form";
import { LiveIndicator } from "@/app/_console/live-socket";
import { useInboxLive } from "./inbox-live";
import { Ago, Elapsed } from "@/app/_console/time";
import { IntentCells } from "./intent-cells";
import { ErrorAlert } from "@/app/_console/error-alert";
import { TableCard } from "@/app/_console/table-card";
import styles from "@/app/_console/console.module.css";

export type InboxRow = ConversationSummary & { snippet?: string | null };

/** Form values → API query (confidence in the form is a percentage). */
function toQuery(f: InboxFormValues, cursor: string | null, pageSize: number): URLSearchParams {
  const p = new URLSearchParams();
  if (f.q.trim()) p.set("q", f.q.trim());
  if (f.status) p.set("status", f.status);
  if (f.intent) p.set("intent", f.intent);
  if (f.minConfidence !== "") p.set("minConfidence", String(Number(f.minConfidence) / 100));
  if (f.maxConfidence !== "") p.set("maxConfidence", String(Number(f.maxConfidence) / 100));
  if (f.from) p.set("from", f.from);
  if (f.to) p.set("to", f.to);
  if (f.hasCorrection) p.set("hasCorrection", f.hasCorrection);
  if (cursor) p.set("cursor", cursor);
  p.set("limit", String(pageSize));
  return p;
}

function toUrlQuery(f: InboxFormValues): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v.trim() !== "") p.set(k, v.trim());
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** Renders ts_headline's markers (\u0001…\u0002) as <mark>, everything else as plain text. */
function Highlighted({ text }: { text: string }) {
  const parts: ReactNode[] = [];
  let i = 0;
  for (const chunk of text.split("\u0001")) {
    const end = chunk.indexOf("\u0002");
    if (end < 0) parts.push(chunk.replaceAll("\u0002", ""));
    else {
      parts.push(<mark key={i++}>{chunk.slice(0, end)}</mark>);
      parts.push(chunk.slice(end + 1).replaceAll("\u0002", ""));
    }
  }
  return <>{parts}</>;
}

export function InboxView({
  initial,
  initialForm,
  labels,
  pageSize,
  error: initialError,
}: {
  initial: Page<InboxRow>;
  initialForm: InboxFormValues;
  labels: string[];
  pageSize: number;
  error?: string | null;
}) {
  const router = useRouter();
  const [form, setForm] = useState<InboxFormValues>(initialForm);
  const [applied, setApplied] = useState<InboxFormValues>(initialForm);
  const [page, setPage] = useState<Page<InboxRow>>(initial);
  /** Cursors of the pages before the current one ([] on the first page); the current one last. */
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(initialError ?? null);
  const [flash, setFlash] = useState<Set<string>>(new Set());
  const request = useRef(0);

  const load = useCallback(
    async (values: InboxFormValues, cursor: string | null, opts: { quiet?: boolean } = {}) => {
      const n = ++request.current;
      if (!opts.quiet) setLoading(true);
      try {
        const res = await fetch(`/api/staff/conversations?${toQuery(values, cursor, pageSize)}`, { cache: "no-store" });
        const body = (await res.json().catch(() => null)) as (Page<InboxRow> & { error?: { message?: string } }) | null;
        if (n !== request.current) return null;
        if (res.status === 401) {
          window.location.assign("/staff/login?next=/staff");
          return null;
        }
        if (!res.ok || !body) {
          setError(body?.error?.message ?? `Could not load conversations (${res.status}).`);
          return null;
        }
        setError(null);
        return body;
      } catch {
        if (n === request.current) setError("Network error — retrying when the next change arrives.");
        return null;
      } finally {
        if (n === request.current) setLoading(false);
      }
    },
    [pageSize],
  );

  async function apply(e?: FormEvent, values: InboxFormValues = { ...form }) {
    e?.preventDefault();
    const next = await load(values, null);
    if (!next) return;
    setApplied(values);
    setPage(next);
    setCursors([null]);
    window.history.replaceState(null, "", `/staff${toUrlQuery(values)}`);
  }

  async function reset() {
    setForm(EMPTY_FORM);
    const next = await load(EMPTY_FORM, null);
    if (!next) return;
    setApplied(EMPTY_FORM);
    setPage(next);
    setCursors([null]);
    window.history.replaceState(null, "", "/staff");
  }

  async function older() {
    if (!page.nextCursor) return;
    const next = await load(applied, page.nextCursor);
    if (!next) return;
    setCursors((c) => [...c, page.nextCursor]);
    setPage(next);
    window.scrollTo({ top: 0 });
  }

  async function newer() {
    if (cursors.length < 2) return;
    const prev = cursors[cursors.length - 2] ?? null;
    const next = await load(applied, prev);
    if (!next) return;
    setCursors((c) => c.slice(0, -1));
    setPage(next);
    window.scrollTo({ top: 0 });
  }

  const live = useInboxLive(async (ids) => {
    const cursor = cursors[cursors.length - 1] ?? null;
    const next = await load(applied, cursor, { quiet: true });
    if (!next) return;
    setPage(next);
    const changed = new Set(ids.filter((id) => next.items.some((r) => r.id === id)));
    if (changed.size) {
      setFlash(changed);
      setTimeout(() => setFlash(new Set()), 1300);
    }
  });

  const set = (k: keyof InboxFormValues) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  /** Choices from a list apply at once. */
  const choose = (k: keyof InboxFormValues) => (e: { target: { value: string } }) => {
    const values = { ...form, [k]: e.target.value };
    setForm(values);
    void apply(undefined, values);
  };
  const filtered = Object.values(applied).some((v) => v !== "");
  const pageNo = cursors.length;

  return (
    <>
      <div className={styles.header}>
        <h1>Inbox</h1>
        <span className={styles.headerNote}>Newest activity first</span>
        <span className={styles.headerRight}>
          {loading && <span>Loading…</span>}
          <LiveIndicator state={live} />
        </span>
      </div>

      <form className={`${styles.card} ${styles.filters}`} onSubmit={apply} role="search" aria-label="Filter conversations">
        <div className={styles.searchRow}>
          <label className={`${styles.field} ${styles.search}`}>
            <span className={styles.visuallyHidden}>Search messages</span>
            <input
              type="search"
              value={form.q}
              onChange={set("q")}
              placeholder='Search messages — e.g. refund, "wrong size", parcel -damaged'
              maxLength={200}
              name="q"
            />
          </label>
          <span className={styles.filterButtons}>
            <button type="button" className={styles.btn} onClick={() => void reset()} disabled={loading || (!filtered && Object.values(form).every((v) => v === ""))}>
              Reset
            </button>
            <button type="submit" className={`${styles.btn} ${styles.btnPrimary}`} disabled={loading}>
              Apply
            </button>
          </span>
        </div>
        <label className={styles.field}>
          Status
          <select value={form.status} onChange={choose("status")} name="status">
            <option value="">Any</option>
            {Object.entries(STATUS_LABELS).map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label className={styles.field}>
          Intent
          <select value={form.intent} onChange={choose("intent")} name="intent">
            <option value="">Any</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <div className={styles.field}>
          <span id="conf-label">Lowest confidence %</span>
          <span className={styles.range} aria-labelledby="conf-label">
            <input type="number" min={0} max={100} step={1} value={form.minConfidence} onChange={set("minConfidence")} placeholder="0" aria-label="Minimum confidence %" name="minConfidence" />
            –
            <input type="number" min={0} max={100} step={1} value={form.maxConfidence} onChange={set("maxConfidence")} placeholder="100" aria-label="Maximum confidence %" name="maxConfidence" />
          </span>
        </div>
        <label className={styles.field}>
          Active from
          <input type="date" value={form.from} onChange={set("from")} name="from" />
        </label>
        <label className={styles.field}>
          to
          <input type="date" value={form.to} onChange={set("to")} name="to" />
        </label>
        <label className={styles.field}>
          Corrections
          <select value={form.hasCorrection} onChange={choose("hasCorrection")} name="hasCorrection">
            <option value="">Any</option>
            <option value="true">Has a correction</option>
            <option value="false">No correction</option>
          </select>
        </label>
      </form>

      <ErrorAlert error={error} />

      <TableCard label="Conversations" empty={page.items.length > 0 ? null : filtered ? "No conversation matches these filters." : "No conversations yet."}>
        <thead>
          <tr>
            <th>Status</th>
            <th>Last message</th>
            <th>Top intent</th>
            <th>Lowest confidence</th>
            <th>Waiting</th>
            <th>Last activity</th>
            <th>Rating</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((c) => (
            <tr
              key={c.id}
              className={flash.has(c.id) ? styles.rowFlash : undefined}
              onClick={(e) => {
                if ((e.target as HTMLElement).closest("a")) return;
                router.push(`/staff/conversations/${c.id}`);
              }}
              data-conversation-id={c.id}
            >
              <td>
                <StatusBadge status={c.status} />
              </td>
              <td>
                <Link href={`/staff/conversations/${c.id}`} className={styles.rowLink}>
                  <div className={styles.preview}>{c.lastMessagePreview || <span className={styles.muted}>(no messages yet)</span>}</div>
                  {c.snippet && (
                    <div className={`${styles.preview} ${styles.muted}`} style={{ fontSize: 12.5 }}>
                      <Highlighted text={c.snippet} />
                    </div>
                  )}
                  <div className={styles.muted} style={{ fontSize: 12 }}>
                    #{shortId(c.id)}
                    {c.assignedStaffName ? ` · ${c.assignedStaffName}` : ""}
                    {c.hasCorrection && <span className={styles.flag}> · corrected</span>}
                  </div>
                </Link>
              </td>
              <IntentCells conversation={c} />
              <td className={styles.nowrap}>
                {c.status === "waiting_for_agent" && c.waitingSince ? (
                  <Elapsed iso={c.waitingSince} className={styles.wait} />
                ) : (
                  <span className={styles.muted}>–</span>
                )}
              </td>
              <td className={`${styles.nowrap} ${styles.muted}`}>
                <Ago iso={c.lastMessageAt} />
              </td>
              <td>
                <Stars rating={c.rating} />
              </td>
            </tr>
          ))}
        </tbody>
      </TableCard>

      <nav className={styles.pager} aria-label="Pages">
        <span>
          Page {pageNo}
          {page.items.length > 0 && ` · ${page.items.length} conversation${page.items.length === 1 ? "" : "s"}`}
        </span>
        <span className={styles.pagerButtons}>
          <button type="button" className={styles.btn} onClick={() => void newer()} disabled={loading || pageNo < 2}>
            ← Newer
          </button>
          <button type="button" className={styles.btn} onClick={() => void older()} disabled={loading || !page.nextCursor}>
            Older →
          </button>
        </span>
      </nav>
    </>
  );
}
