import { json, route } from "@/lib/http";
import { listCannedResponses } from "@/lib/db/staff";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";

/** Agents pick from these while replying. */
export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  return json({ cannedResponses: await listCannedResponses() });
});
