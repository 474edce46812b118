/** GET /api/ml/data/snapshot: a snapshot of all labelled data as a JSON Lines download. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { config } from "@/lib/config";
import { exportSnapshot } from "@/lib/dataset/export";
import { mlRoute } from "../../_shared";

export const dynamic = "force-dynamic";

export const GET = mlRoute(async () => {
  const snapshot = await exportSnapshot({ dataDir: config().LOOPDESK_DATA_DIR });
  return new Response(await readFile(snapshot.path), {
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="${path.basename(snapshot.path)}"`,
      "cache-control": "no-store",
    },
  });
});
