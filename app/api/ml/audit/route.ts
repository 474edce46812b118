/** GET /api/ml/audit: who did what to data, runs and models, newest first. */
import { auditLog } from "@/lib/db/ml-console";
import { json, mlRoute } from "../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async () => json({ items: await auditLog() }));
