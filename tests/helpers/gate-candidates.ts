/**
 * Classifier versions the promotion gate must refuse, for tests of the refusal: the seed classifier's
 * own weights with its label list moved, registered as candidates. `rotated` names every prediction
 * wrongly (macro-F1 collapses); `oneIntent` renames one intent's label only (that intent's F1 falls to 0).
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

export const REFUSED = { rotated: "gate-rotated", oneIntent: "gate-one-intent", intent: "warranty_repair" } as const;

export async function registerRefusedCandidates(storeDir: string, databaseUrl: string): Promise<void> {
  const seed = path.join(storeDir, "classifier", "seed");
  const labels = JSON.parse(readFileSync(path.join(seed, "labels.json"), "utf8")) as string[];
  const variants: [string, string[]][] = [
    [REFUSED.rotated, [...labels.slice(1), labels[0]!]],
    [REFUSED.oneIntent, labels.map((l) => (l === REFUSED.intent ? `${l}_renamed` : l))],
  ];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const [version, moved] of variants) {
      const dir = path.join(storeDir, "classifier", version);
      mkdirSync(dir, { recursive: true });
      for (const file of readdirSync(seed).filter((f) => f !== "labels.json")) symlinkSync(realpathSync(path.join(seed, file)), path.join(dir, file));
      writeFileSync(path.join(dir, "labels.json"), JSON.stringify(moved));
      await client.query(
        `INSERT INTO "ModelVersion" (version, path, metrics, "datasetSha256") VALUES ($1, $2, $3, 'gate-test') ON CONFLICT DO NOTHING`,
        [version, `classifier/${version}`, readFileSync(path.join(seed, "metrics.json"), "utf8")],
      );
    }
  } finally {
    await client.end();
  }
}
