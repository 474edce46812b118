/**
 * GET /api/ml/models/:version/lm-gate: the newest gate run of a candidate language model (every
 * question's two replies). POST: run the gate now against production (minutes on CPU) and store it.
 */
import { ApiError } from "@/lib/http";
import { lmGateReport } from "@/lib/db/ml-console";
import { LmGateError, runLmGate } from "@/lib/training/lm-gate";
import { json, mlRoute, versionParam } from "../../../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async (_request, _staff, ctx: { params: Promise<{ version: string }> }) => {
  const version = versionParam((await ctx.params).version);
  const report = await lmGateReport(version);
  if (!report) throw new ApiError(404, "not_found", `the gate has not run on ${version} yet`);
  return json(report);
});

export const POST = mlRoute(async (_request, staff, ctx: { params: Promise<{ version: string }> }) => {
  const version = versionParam((await ctx.params).version);
  try {
    await runLmGate({ version, actor: staff.email });
  } catch (err) {
    if (err instanceof LmGateError) throw new ApiError(409, "gate_unavailable", err.message);
    throw err;
  }
  return json(await lmGateReport(version));
});
