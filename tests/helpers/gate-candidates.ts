/**
 * Classifier versions made of the seed classifier's own weights with its label list moved, registered
 * as candidates: the ones the promotion gate must refuse, for tests of the refusal (`rotated` names
 * every prediction wrongly, so macro-F1 collapses; `oneIntent` renames one intent's label only, so that
 * intent's F1 falls to 0), and any others a test asks for.
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

export const REFUSED = { rotated: "gate-rotated", oneIntent: "gate-one-intent", intent: "warranty_repair" } as const;

export async function registerRefusedCandidates(storeDir: string, databaseUrl: string): Promise<void> {
  await registerLabelVariants(storeDir, databaseUrl, [
    [REFUSED.rotated, rotateLabels],
    [REFUSED.oneIntent, (labels) => labels.map((l) => (l === REFUSED.intent ? `${l}_renamed` : l))],
  ]);
}

/** Every prediction named as the next label: a version that disagrees with the seed on every message. */
export const rotateLabels = (labels: string[]) => [...labels.slice(1), labels[0]!];

/**
 * Registers classifier versions made of the seed classifier's weights (linked, not copied) with its
 * label list changed by each variant's function: the identity gives a version that agrees with the
 * seed on everything.
 */
export async function registerLabelVariants(storeDir: string, databaseUrl: string, variants: [version: string, move: (labels: string[]) => string[]][]): Promise<void> {
  const seed = path.join(storeDir, "classifier", "seed");
  const labels = JSON.parse(readFileSync(path.join(seed, "labels.json"), "utf8")) as string[];
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const [version, move] of variants) {
      const dir = path.join(storeDir, "classifier", version);
      mkdirSync(dir, { recursive: true });
      for (const file of readdirSync(seed).filter((f) => f !== "labels.json")) symlinkSync(realpathSync(path.join(seed, file)), path.join(dir, file));
      writeFileSync(path.join(dir, "labels.json"), JSON.stringify(move(labels)));
      await client.query(
        `INSERT INTO "ModelVersion" (version, path, metrics, "datasetSha256") VALUES ($1, $2, $3, 'gate-test') ON CONFLICT DO NOTHING`,
        [version, `classifier/${version}`, readFileSync(path.join(seed, "metrics.json"), "utf8")],
      );
    }
  } finally {
    await client.end();
  }
}
