/** GET /api/ml/runs: recent training runs. POST: queue a run on a snapshot of the current data. */
import { listRuns, getRun } from "@/lib/db/ml-console";
import { startRunSchema } from "@/lib/protocol/ml";
import { enqueueRun } from "@/lib/training/queue";
import { json, mlRoute, readJson } from "../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async () => json({ items: await listRuns() }));

export const POST = mlRoute(async (request, staff) => {
  const body = await readJson(request, startRunSchema);
  const run = await enqueueRun({ kind: body.kind, device: body.device, params: body.params, actor: staff.email });
  return json({ run: await getRun(run.id) }, 202);
});
