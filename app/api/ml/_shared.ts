/** What every `/api/ml/*` handler shares: the ML role check and the URL parameters' validation. */
import { z } from "zod";
import { AREA_ROLES, requireStaff, type StaffIdentity } from "@/lib/auth/session";
import { ApiError, route } from "@/lib/http";

export { json, readJson } from "@/lib/http";

/** `route` for ML staff: 401/403 for others (refused promotions and run state errors are ApiErrors, 409). */
export function mlRoute<Ctx>(handler: (request: Request, staff: StaffIdentity, ctx: Ctx) => Promise<Response>) {
  return route<Ctx>(async (request, ctx) => {
    const staff = await requireStaff(request, AREA_ROLES.ml);
    if (staff instanceof Response) return staff;
    return handler(request, staff, ctx);
  });
}

const runIdSchema = z.string().uuid();
/** A model version as it appears in URLs: the names the trainer and the seed bootstrap give. */
const versionSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/);

export function runIdParam(id: string): string {
  if (!runIdSchema.safeParse(id).success) throw new ApiError(404, "unknown_run", "No such training run.");
  return id;
}

export function versionParam(version: string): string {
  if (!versionSchema.safeParse(version).success) throw new ApiError(404, "unknown_model", "No such model version.");
  return version;
}
