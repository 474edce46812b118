/** GET /api/ml/data: examples per intent and source, with warnings. */
import { datasetSummary } from "@/lib/db/ml-console";
import { json, mlRoute } from "../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async () => json(await datasetSummary()));
