/** /staff: the inbox. The first page is rendered here; filters, paging and live refresh run in InboxView. */
import type { Metadata } from "next";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { intentLabels, listConversations } from "@/lib/db/inbox";
import { ApiError } from "@/lib/http";
import { listQuerySchema, toFilters } from "@/lib/protocol/staff";
import { StaffNav } from "@/app/_console/staff-nav";
import { EMPTY_FORM, type InboxFormValues } from "./_components/inbox-form";
import { InboxView } from "./_components/inbox-view";
import styles from "@/app/_console/console.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Inbox · Loopdesk" };

const PAGE_SIZE = 50;

export default async function InboxPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const staff = await requireStaffPage(AREA_ROLES.support, "/staff");
  const params = await searchParams;
  const form: InboxFormValues = { ...EMPTY_FORM };
  for (const k of Object.keys(EMPTY_FORM) as (keyof InboxFormValues)[]) {
    const v = params[k];
    if (typeof v === "string") form[k] = v;
  }
  // The form shows confidence in percent; the API takes 0–1.
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) {
    if (v.trim() === "") continue;
    query[k] = k === "minConfidence" || k === "maxConfidence" ? String(Number(v) / 100) : v.trim();
  }
  const parsed = listQuerySchema.safeParse(query);
  let error: string | null = null;
  let filters = {};
  if (parsed.success) filters = toFilters(parsed.data);
  else {
    const issue = parsed.error.issues[0];
    error = `Ignored the filters: ${issue?.path.join(".") ?? ""} ${issue?.message ?? "invalid"}`;
    Object.assign(form, EMPTY_FORM);
  }
  const [page, labels] = await Promise.all([
    listConversations(filters, null, PAGE_SIZE).catch((e: unknown) => {
      if (e instanceof ApiError) {
        error = e.message;
        return { items: [], nextCursor: null };
      }
      throw e;
    }),
    intentLabels(),
  ]);

  return (
    <>
      <StaffNav staff={staff} />
      <main className={styles.page}>
        <InboxView initial={page} initialForm={form} labels={labels} pageSize={PAGE_SIZE} error={error} />
      </main>
    </>
  );
}
