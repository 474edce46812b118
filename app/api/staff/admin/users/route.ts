import { json, readJson, route } from "@/lib/http";
import { listStaffUsers } from "@/lib/db/staff";
import { AREA_ROLES, createStaffUser, newStaffSchema, requireStaff } from "@/lib/auth/session";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json({ users: await listStaffUsers() });
});

export const POST = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  const user = await createStaffUser(await readJson(request, newStaffSchema), staff.email);
  return json({ user }, 201);
});
