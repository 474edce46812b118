/** /staff/queue: conversations waiting for an agent, oldest first. */
import type { Metadata } from "next";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { waitingQueue } from "@/lib/db/inbox";
import { InboxQueue } from "../_components/inbox-queue";
import { StaffNav } from "@/app/_console/staff-nav";
import styles from "@/app/_console/console.module.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Queue · Loopdesk" };

export default async function QueuePage() {
  const staff = await requireStaffPage(AREA_ROLES.support, "/staff/queue");
  const items = await waitingQueue();
  return (
    <>
      <StaffNav staff={staff} />
      <main className={styles.page}>
        <InboxQueue initial={items} />
      </main>
    </>
  );
}
