/**
 * GET /api/ml/shadow: the classifier version in shadow, its live agreement with production, the intents
 * they disagree on most and the disagreements waiting for a label (`shadow: null` when nothing is shadowed).
 * POST { version }: put a candidate in shadow on every server (409 shadow_refused when it cannot be loaded:
 * nothing changes). DELETE: stop shadowing.
 */
import { shadowSchema } from "@/lib/protocol/ml";
import { shadowView, startShadow, stopShadow } from "@/lib/training/shadow";
import { json, mlRoute, readJson, versionParam } from "../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async () => json(await shadowView()));

export const POST = mlRoute(async (request, staff) => {
  const { version } = await readJson(request, shadowSchema);
  return json(await startShadow({ version: versionParam(version), actor: staff.email }));
});

export const DELETE = mlRoute(async (_request, staff) => json(await stopShadow({ actor: staff.email })));
