import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { homeFor, safeNextPath } from "@/lib/auth/paths";
import { SESSION_COOKIE, staffFromToken } from "@/lib/auth/session";
import { LoginForm } from "./login-form";
import styles from "./login.module.css";

type Search = { next?: string; denied?: string };

export default async function StaffLoginPage({ searchParams }: { searchParams: Promise<Search> }) {
  const { next, denied } = await searchParams;
  const staff = await staffFromToken((await cookies()).get(SESSION_COOKIE)?.value);
  const target = safeNextPath(next);
  // Already logged in: go on, unless this is the "no access" notice for the wrong role.
  if (staff && denied === undefined) redirect(target ?? homeFor(staff.role));
  return (
    <main className={styles.page}>
      <h1>Loopdesk staff</h1>
      {staff && denied !== undefined && (
        <p className={styles.denied} role="alert" data-testid="access-denied">
          403 · You are logged in as {staff.name} ({staff.role}), who may not open {safeNextPath(denied) ?? "that page"}.{" "}
          <a href={homeFor(staff.role)}>Go to your start page</a> or log in as someone else.
        </p>
      )}
      <LoginForm next={target} />
    </main>
  );
}
