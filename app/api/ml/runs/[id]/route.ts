/** GET /api/ml/runs/:id: one run with its progress and logs. */
import { ApiError } from "@/lib/http";
import { getRun } from "@/lib/db/ml-console";
import { json, mlRoute, runIdParam } from "../../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async (_request, _staff, ctx: { params: Promise<{ id: string }> }) => {
  const run = await getRun(runIdParam((await ctx.params).id));
  if (!run) throw new ApiError(404, "unknown_run", "No such training run.");
  return json({ run });
});
