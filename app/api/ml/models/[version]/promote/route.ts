/**
 * POST /api/ml/models/:version/promote { kind?, force?, reason? }: the gate of the version's kind is
 * enforced (409 gate_refused with the verdict) unless forced with a reason, which is recorded; every
 * server swaps within seconds. An LM's gate asks the reply benchmark of both models: minutes on CPU.
 * A classifier promoted from shadow answers with its live figures (`shadow`) too, and its shadowing ends.
 */
import { promoteSchema } from "@/lib/protocol/ml";
import { promote } from "@/lib/training/promote";
import { json, mlRoute, readJson, versionParam } from "../../../_shared";

export const dynamic = "force-dynamic";

export const POST = mlRoute(async (request, staff, ctx: { params: Promise<{ version: string }> }) => {
  const version = versionParam((await ctx.params).version);
  const body = await readJson(request, promoteSchema);
  const { deployment, verdict, shadow } = await promote({ version, kind: body.kind, actor: staff.email, force: body.force, reason: body.reason });
  return json({ version: deployment.version, forced: deployment.forced, verdict, shadow });
});
