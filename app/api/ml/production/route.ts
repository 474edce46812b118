/** GET /api/ml/production?window=day|week: intent distribution, confidence, handoffs, bad replies. */
import { z } from "zod";
import { ApiError } from "@/lib/http";
import { productionStats } from "@/lib/db/ml-console";
import { json, mlRoute } from "../_shared";

export const dynamic = "force-dynamic";

const windowSchema = z.enum(["day", "week"]).default("day");

export const GET = mlRoute(async (request) => {
  const window = windowSchema.safeParse(new URL(request.url).searchParams.get("window") ?? undefined);
  if (!window.success) throw new ApiError(400, "invalid_payload", "window must be day or week.");
  return json(await productionStats(window.data));
});
