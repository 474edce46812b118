/**
 * The demo company's shipped data: the seed intent examples (training/data/intents.csv) and the
 * knowledge base (training/data/knowledge_base.json). Idempotent: staff edits to articles are kept.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { db } from "./client";
import { seedArticles } from "./knowledge";
import { textKey } from "../text";

const DATA_DIR = path.resolve("training/data");
/** Held while seeding: servers starting at once on a fresh database would each insert the same rows. */
const SEED_LOCK = 160_002;

export async function seedDatabase(): Promise<void> {
  const prisma = db();
  const articles = JSON.parse(await readFile(path.join(DATA_DIR, "knowledge_base.json"), "utf8")) as {
    slug: string;
    intent: string | null;
    title: string;
    body: string;
  }[];
  const rows = parse(await readFile(path.join(DATA_DIR, "intents.csv")), { columns: true, skip_empty_lines: true }) as {
    text: string;
    label: string;
  }[];
  await prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SEED_LOCK}::bigint)`;
      await seedArticles(tx, articles);
      await tx.trainingExample.createMany({
        data: rows.map((r) => ({ text: r.text, textKey: textKey(r.text), label: r.label, source: "seed" as const })),
        skipDuplicates: true,
      });
    },
    // The second server waits here for the first to finish; on a busy machine that takes seconds.
    { maxWait: 120_000, timeout: 120_000 },
  );
}
