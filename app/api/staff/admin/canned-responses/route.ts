import { cannedSchema } from "@/lib/auth/admin";
import { json, readJson, route } from "@/lib/http";
import { createCannedResponse, listCannedResponses } from "@/lib/db/canned-responses";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json({ cannedResponses: await listCannedResponses() });
});

export const POST = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json({ cannedResponse: await createCannedResponse(staff.email, await readJson(request, cannedSchema)) }, 201);
});
