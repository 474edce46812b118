import { parseId, staffPatchSchema, updateStaff } from "@/lib/auth/admin";
import { json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";

export const PATCH = route(async (request, { params }: { params: Promise<{ id: string }> }) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  const id = parseId((await params).id);
  return json({ user: await updateStaff(staff, id, await readJson(request, staffPatchSchema)) });
});
