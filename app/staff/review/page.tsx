/** /staff/review: the intent review queue, least confident first, keyboard-driven. */
import type { Metadata } from "next";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { intentLabels, reviewBacklog, reviewQueue } from "@/lib/db/inbox";
import { InboxReview } from "../_components/inbox-review";
import { StaffNav } from "@/app/_console/staff-nav";
import styles from "@/app/_console/console.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Review · Loopdesk" };

export default async function ReviewPage() {
  const staff = await requireStaffPage(AREA_ROLES.support, "/staff/review");
  const [page, labels, backlog] = await Promise.all([reviewQueue(null, 30), intentLabels(), reviewBacklog()]);
  return (
    <>
      <StaffNav staff={staff} />
      <main className={styles.page}>
        <InboxReview initial={page} labels={labels} backlog={backlog} />
      </main>
    </>
  );
}
