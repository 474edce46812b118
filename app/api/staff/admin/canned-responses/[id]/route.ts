import { cannedPatchSchema, deleteCanned, parseId, updateCanned } from "@/lib/auth/admin";
import { json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";

type Params = { params: Promise<{ id: string }> };

export const PATCH = route(async (request, { params }: Params) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  const id = parseId((await params).id);
  return json({ cannedResponse: await updateCanned(staff, id, await readJson(request, cannedPatchSchema)) });
});

export const DELETE = route(async (request, { params }: Params) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  await deleteCanned(staff, parseId((await params).id));
  return json({ ok: true });
});
