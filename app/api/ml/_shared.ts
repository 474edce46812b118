/** What every `/api/ml/*` handler shares: the ML role check and errors of the training loop as JSON. */
import { z } from "zod";
import { ApiError, errorResponse, json, route } from "@/lib/auth/http";
import { AREA_ROLES, requireStaff, type StaffIdentity } from "@/lib/auth/session";
import { PromotionError } from "@/lib/training/promote";
import { RunStateError } from "@/lib/training/queue";

export { json, readJson } from "@/lib/auth/http";

/** `route` for ML staff: 401/403 for others; refused promotions and run state errors become 409s. */
export function mlRoute<Ctx>(handler: (request: Request, staff: StaffIdentity, ctx: Ctx) => Promise<Response>) {
  return route<Ctx>(async (request, ctx) => {
    const staff = await requireStaff(request, AREA_ROLES.ml);
    if (staff instanceof Response) return staff;
    try {
      return await handler(request, staff, ctx);
    } catch (err) {
      if (err instanceof PromotionError) {
        if (err.verdict) return json({ error: { code: "gate_refused", message: err.message }, verdict: err.verdict }, 409);
        return errorResponse(409, "promotion_refused", err.message);
      }
      if (err instanceof RunStateError) return errorResponse(409, "invalid_state", err.message);
      throw err;
    }
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
