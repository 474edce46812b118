/** /staff/admin: staff accounts, canned responses and a customer's data on request, for admins. */
import { StaffNav } from "@/app/_console/staff-nav";
import { AREA_ROLES, requireStaffPage } from "@/lib/auth/session";
import { listCannedResponses } from "@/lib/db/canned-responses";
import { listStaffUsers } from "@/lib/db/staff";
import { CannedResponses } from "./canned-responses";
import { CustomerData } from "./customer-data";
import { StaffUsers } from "./staff-users";
import styles from "./admin.module.css";

export default async function AdminPage() {
  const staff = await requireStaffPage(AREA_ROLES.admin, "/staff/admin");
  const [users, canned] = await Promise.all([listStaffUsers(), listCannedResponses()]);
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
        <CustomerData />
      </main>
    </>
  );
}
