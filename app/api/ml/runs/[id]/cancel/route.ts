/** POST /api/ml/runs/:id/cancel: cancels a queued run at once, a running one through its worker. */
import { getRun } from "@/lib/db/ml-console";
import { cancelRun } from "@/lib/training/queue";
import { json, mlRoute, runIdParam } from "../../../_shared";

export const dynamic = "force-dynamic";

export const POST = mlRoute(async (_request, staff, ctx: { params: Promise<{ id: string }> }) => {
  const run = await cancelRun(runIdParam((await ctx.params).id), staff.email);
  return json({ run: await getRun(run.id) });
});
