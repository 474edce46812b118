/** /staff/admin: staff accounts, canned responses, support hours, the email outbox and a customer's data on request, for admins. */
import { StaffNav } from "@/app/_console/staff-nav";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listCannedResponses } from "@/lib/db/canned-responses";
import { config } from "@/lib/config";
import { listOutboxEmails, loadOfficeHours } from "@/lib/db/follow-up";
import { officeHoursView } from "@/lib/office-hours";
import { listStaffUsers } from "@/lib/db/staff";
import { CannedResponses } from "./canned-responses";
import { CustomerData } from "./customer-data";
import { OfficeHoursForm } from "./office-hours";
import { Outbox } from "./outbox";
import { StaffUsers } from "./staff-users";
import styles from "./admin.module.css";

export default async function AdminPage() {
  const staff = await requireStaffPage(AREA_ROLES.admin, "/staff/admin");
  const [users, canned, hours, outbox] = await Promise.all([listStaffUsers(), listCannedResponses(), loadOfficeHours(), listOutboxEmails()]);
  return (
    <>
      <StaffNav staff={staff} />
      <main className={styles.page}>
        <h1>Administration</h1>
        <StaffUsers
          selfId={staff.id}
          users={users.map((u) => ({ id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled, locked: Boolean(u.lockedUntil && u.lockedUntil > new Date()) }))}
        />
        <CannedResponses items={canned.map((c) => ({ id: c.id, title: c.title, body: c.body }))} />
        <OfficeHoursForm current={officeHoursView(hours)} />
        <Outbox emails={outbox} smtp={Boolean(config().SMTP_URL)} />
        <CustomerData />
      </main>
    </>
  );
}
