"use client";
/**
 * The staff console's top bar: who is logged in, the areas their role may open, a support agent's
 * availability (online/away), and logout.
 * Render it from any staff page with the identity requireStaffPage returned: <StaffNav staff={staff} />.
 */
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useState } from "react";
import { AREA_ROLES, hasRole, type StaffIdentity, type StaffRole } from "@/lib/auth/roles";
import { AvailabilityToggle } from "./availability-toggle";

const LINKS: { href: string; label: string; roles: readonly StaffRole[] }[] = [
  { href: "/staff", label: "Inbox", roles: AREA_ROLES.support },
  { href: "/staff/queue", label: "Queue", roles: AREA_ROLES.support },
  { href: "/staff/review", label: "Review", roles: AREA_ROLES.support },
  { href: "/staff/knowledge", label: "Knowledge", roles: AREA_ROLES.knowledge },
  { href: "/ml", label: "ML", roles: AREA_ROLES.ml },
  { href: "/staff/reports", label: "Reports", roles: AREA_ROLES.admin },
  { href: "/staff/admin", label: "Admin", roles: AREA_ROLES.admin },
];

export function StaffNav({ staff }: { staff: StaffIdentity }) {
  const pathname = usePathname();
  const [error, setError] = useState<string | null>(null);
  const links = LINKS.filter((l) => hasRole(staff, l.roles));
  // The inbox link is the prefix of every staff page, so it is only current on /staff and conversations.
  const current = (href: string) => (href === "/staff" ? pathname === href || pathname.startsWith("/staff/conversations") : pathname.startsWith(href));

  async function logout() {
    const res = await fetch("/api/staff/auth/logout", { method: "POST" }).catch(() => null);
    if (res?.ok) window.location.assign("/staff/login");
    else setError("Logout failed; try again.");
  }

  return (
    <nav aria-label="Staff" style={{ display: "flex", alignItems: "center", gap: 16, padding: "10px 16px", background: "#fff", borderBottom: "1px solid #e5e7eb" }}>
      <strong>Loopdesk</strong>
      {links.map((l) => (
        <Link key={l.href} href={l.href} aria-current={current(l.href) ? "page" : undefined} style={{ color: "var(--accent)", fontWeight: current(l.href) ? 600 : 400 }}>
          {l.label}
        </Link>
      ))}
      <span style={{ marginLeft: "auto", color: "var(--muted)", fontSize: 14 }} data-testid="staff-identity">
        {staff.name} · {staff.role}
      </span>
      {hasRole(staff, AREA_ROLES.support) && <AvailabilityToggle />}
      {error && <span role="alert" className="note">{error}</span>}
      <button type="button" className="link" onClick={logout}>
        Log out
      </button>
    </nav>
  );
}
