import { pingDatabase } from "@/lib/db/retry";
import { modelStatus } from "@/lib/models/registry";

export const dynamic = "force-dynamic";

export async function GET() {
  const models = modelStatus();
  const db = await pingDatabase().then(
    () => "ok" as const,
    () => "down" as const,
  );
  const ok = models !== null && db === "ok";
  return Response.json({ status: ok ? "ok" : "starting", db, models }, { status: ok ? 200 : 503 });
}
