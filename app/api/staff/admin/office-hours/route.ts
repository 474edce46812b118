import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { loadOfficeHours, saveOfficeHours } from "@/lib/db/follow-up";
import { json, readJson, route } from "@/lib/http";
import { officeHoursView as view } from "@/lib/office-hours";
import { officeHoursSchema } from "@/lib/protocol/office-hours";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json(view(await loadOfficeHours()));
});

/** Replaces the hours; a configuration that is invalid or never opens is refused (400) and nothing is stored. */
export const PUT = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json(view(await saveOfficeHours(staff.email, await readJson(request, officeHoursSchema))));
});
