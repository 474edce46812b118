import { cannedSchema, createCanned } from "@/lib/auth/admin";
import { json, readJson, route } from "@/lib/http";
import { listCannedResponses } from "@/lib/db/staff";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json({ cannedResponses: await listCannedResponses() });
});

export const POST = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json({ cannedResponse: await createCanned(staff, await readJson(request, cannedSchema)) }, 201);
});
