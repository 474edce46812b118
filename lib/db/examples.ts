/**
 * Labelled data for training: TrainingExample rows (seed, imports) and the customer messages staff
 * labelled. lib/dataset parses and checks files and writes snapshots; this is its database side.
 */
import { db } from "./client";
import { byCodeUnits, textKey } from "../text";

/** What the database already holds for the texts and labels of a file. */
export interface ExistingExamples {
  labelByKey: ReadonlyMap<string, string>;
  countByLabel: ReadonlyMap<string, number>;
}

// Postgres takes at most 65,535 parameters per statement; rows of 5 columns in chunks of 5,000 stay well under.
const CHUNK = 5000;

/** The stored label of each of these text keys that has one, and the example count of every label. */
export async function existingExamples(textKeys: string[]): Promise<ExistingExamples> {
  const keys = [...new Set(textKeys)];
  const labelByKey = new Map<string, string>();
  for (let i = 0; i < keys.length; i += CHUNK) {
    const found = await db().trainingExample.findMany({
      where: { textKey: { in: keys.slice(i, i + CHUNK) } },
      select: { textKey: true, label: true },
    });
    for (const f of found) labelByKey.set(f.textKey, f.label);
  }
  // One row per label: there are few.
  const counts = await db().trainingExample.groupBy({ by: ["label"], _count: { _all: true } });
  return { labelByKey, countByLabel: new Map(counts.map((c) => [c.label, c._count._all])) };
}

/**
 * Stores an import's new examples and its audit entry in one transaction: all or nothing. Fails with a
 * unique violation (lib/db/errors.ts) when another writer added one of the texts meanwhile.
 */
export async function insertImportedExamples(input: {
  importId: string;
  rows: { text: string; textKey: string; label: string }[];
  actor: string;
  filename: string;
  details: Record<string, string | number>;
}): Promise<void> {
  await db().$transaction(
    async (tx) => {
      for (let i = 0; i < input.rows.length; i += CHUNK) {
        await tx.trainingExample.createMany({
          data: input.rows.slice(i, i + CHUNK).map((r) => ({ text: r.text, textKey: r.textKey, label: r.label, source: "import" as const, importId: input.importId })),
        });
      }
      await tx.auditLog.create({ data: { actor: input.actor, action: "dataset.import", subject: input.filename, details: input.details } });
    },
    // A 100,000-row file takes longer than the default 5 s.
    { timeout: 120_000 },
  );
}

/** Where labelled data comes from: examples (seed, imports) and staff-labelled messages (newest label, oldest first). */
export async function labelledSources() {
  // One consistent view of both tables, whatever is being labelled meanwhile.
  const [examples, messages] = await db().$transaction(
    [
      db().trainingExample.findMany({ select: { text: true, textKey: true, label: true, source: true } }),
      db().message.findMany({
        where: { role: "customer", intentLabels: { some: {} } },
        select: {
          id: true,
          text: true,
          intentLabels: {
            // A correction and a confirmation made in the same millisecond: the correction wins.
            orderBy: [{ createdAt: "desc" }, { source: "desc" }, { id: "desc" }],
            take: 1,
            select: { intent: true, createdAt: true },
          },
        },
      }),
    ],
    { isolationLevel: "RepeatableRead" },
  );
  const staff = messages
    .map((m) => ({ id: m.id, text: m.text, textKey: textKey(m.text), label: m.intentLabels[0]!.intent, labelledAt: m.intentLabels[0]!.createdAt }))
    .sort((a, b) => a.labelledAt.getTime() - b.labelledAt.getTime() || byCodeUnits(a.id, b.id));
  return { examples, staff };
}
