import { listenerStates } from "@/lib/db/listen";
import { pingDatabase } from "@/lib/db/retry";
import { modelStatus } from "@/lib/models/registry";

export const dynamic = "force-dynamic";

/**
 * 200 `ok` when the models are loaded and the database answers; 200 `degraded` while a LISTEN
 * connection is down (chats work, but promotions and article saves reach this server only once it
 * is back); 503 `starting` otherwise.
 */
export async function GET() {
  const models = modelStatus();
  const db = await pingDatabase().then(
    () => "ok" as const,
    () => "down" as const,
  );
  const listeners = listenerStates();
  const ready = models !== null && db === "ok";
  const status = !ready ? "starting" : Object.values(listeners).includes("down") ? "degraded" : "ok";
  return Response.json({ status, db, models, listeners }, { status: ready ? 200 : 503 });
}
