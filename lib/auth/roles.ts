/**
 * Staff roles and who may enter which area. Plain data with no server imports, so client components
 * (the staff nav) can use it; lib/auth/session.ts re-exports all of it.
 */
export const STAFF_ROLES = ["agent", "ml", "admin", "editor"] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export interface StaffIdentity {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
}

/** Roles allowed in each area; admin may do everything. */
export const AREA_ROLES = {
  support: ["agent", "admin"],
  ml: ["ml", "admin"],
  admin: ["admin"],
  /** The help-centre articles replies are grounded in. */
  knowledge: ["editor", "admin"],
} as const satisfies Record<string, readonly StaffRole[]>;

/** Whether a staff member may enter an area given by its roles; admins may enter every area. */
export function hasRole(staff: StaffIdentity, roles: readonly StaffRole[]): boolean {
  return staff.role === "admin" || roles.includes(staff.role);
}
