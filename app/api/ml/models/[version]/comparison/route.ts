/** GET /api/ml/models/:version/comparison: the candidate against production on its frozen holdout. */
import { comparison } from "@/lib/training/promote";
import { json, mlRoute, versionParam } from "../../../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async (_request, _staff, ctx: { params: Promise<{ version: string }> }) =>
  json(await comparison(versionParam((await ctx.params).version))),
);
