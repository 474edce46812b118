/** GET /api/ml/models: every classifier version, the production one marked. */
import { listModels } from "@/lib/db/ml-console";
import { json, mlRoute } from "../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async () => json({ items: await listModels() }));
