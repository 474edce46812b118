import { json, route } from "@/lib/http";
import { STAFF_ROLES, requireStaff } from "@/lib/auth/session";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, STAFF_ROLES);
  if (staff instanceof Response) return staff;
  return json({ staff });
});
