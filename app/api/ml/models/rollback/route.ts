/** POST /api/ml/models/rollback { kind?, reason? }: puts back the version of the kind that was in production before. */
import { rollbackSchema } from "@/lib/protocol/ml";
import { rollback } from "@/lib/training/promote";
import { json, mlRoute, readJson } from "../../_shared";

export const dynamic = "force-dynamic";

export const POST = mlRoute(async (request, staff) => {
  const body = await readJson(request, rollbackSchema);
  const deployment = await rollback({ kind: body.kind, actor: staff.email, reason: body.reason });
  return json({ version: deployment.version });
});
