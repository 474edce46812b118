/**
 * Dataset import and snapshot export against a real PostgreSQL database of their own, created,
 * migrated and seeded here (they do not use the server the integration setup starts).
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../lib/generated/prisma/client";
import { splitOf, textKey } from "../../lib/text";
import { createMigratedDatabase } from "../helpers/postgres";

const ROOT = path.resolve(import.meta.dirname, "../..");

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let dataDir: string;
let prisma: PrismaClient;
let importDataset: typeof import("../../lib/dataset/import").importDataset;
let exportSnapshot: typeof import("../../lib/dataset/export").exportSnapshot;

beforeAll(async () => {
  database = await createMigratedDatabase("dataset_test");
  dataDir = await mkdtemp(path.join(tmpdir(), "loopdesk-dataset-"));
  // lib/config.ts reads the environment once, on first use: set it before any lib module runs.
  process.env.DATABASE_URL = database.url;
  process.env.LOOPDESK_DATA_DIR = dataDir;
  ({ importDataset } = await import("../../lib/dataset/import"));
  ({ exportSnapshot } = await import("../../lib/dataset/export"));
  prisma = (await import("../../lib/db/client")).db();
  await (await import("../../lib/db/seed")).seedDatabase();
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Row = { text: string; label: string };

function examples(label: string, count = 5, prefix = label): Row[] {
  return Array.from({ length: count }, (_, i) => ({ text: `${prefix} utterance number ${i}`, label }));
}

function csv(rows: Row[]): string {
  return ["text,label", ...rows.map((r) => `"${r.text.replace(/"/g, '""')}",${r.label}`)].join("\r\n");
}

function jsonl(rows: Row[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n");
}

async function importRows(rows: Row[], filename = "file.jsonl") {
  return importDataset({ content: jsonl(rows), format: "jsonl", actor: "alice@example.com", filename });
}

const FIRST_IMPORT = [...examples("loyalty_points"), ...examples("gift_wrapping"), examples("gift_wrapping")[0]!];

describe("importDataset", () => {
  it("imports every new row of a file in one go, and records who did it", async () => {
    const before = await prisma.trainingExample.count();

    const report = await importDataset({ content: csv(FIRST_IMPORT), format: "csv", actor: "alice@example.com", filename: "extra.csv" });

    expect(report).toMatchObject({ inserted: 10, skippedExisting: 0, duplicates: 1, errors: [] });
    expect(report.warnings).toMatchObject([{ line: 12, code: "duplicate", severity: "warning" }]);
    expect(report.perLabel).toEqual({ gift_wrapping: { inFile: 5, new: 5, total: 5 }, loyalty_points: { inFile: 5, new: 5, total: 5 } });
    expect(await prisma.trainingExample.count()).toBe(before + 10);
    const stored = await prisma.trainingExample.findMany({ where: { importId: report.importId }, orderBy: { textKey: "asc" } });
    expect(stored).toHaveLength(10);
    expect(stored.every((e) => e.source === "import" && e.textKey === textKey(e.text))).toBe(true);
    const audit = await prisma.auditLog.findMany({ where: { action: "dataset.import" } });
    expect(audit).toMatchObject([
      {
        actor: "alice@example.com",
        subject: "extra.csv",
        details: { importId: report.importId, format: "csv", inserted: 10, skippedExisting: 0, duplicates: 1 },
      },
    ]);
  });

  it("imports nothing from a file with one bad row", async () => {
    const before = await prisma.trainingExample.count();
    const audits = await prisma.auditLog.count();

    const report = await importRows([...examples("order_status", 20, "fresh"), { text: "where is it", label: "Order Status" }]);

    expect(report).toMatchObject({ importId: null, inserted: 0, errors: [{ line: 21, code: "invalid_label" }] });
    expect(await prisma.trainingExample.count()).toBe(before);
    expect(await prisma.auditLog.count()).toBe(audits);
  });

  it("refuses a text the database has under another label", async () => {
    const before = await prisma.trainingExample.count();
    // "where is my order" is a seed example of order_status.
    const report = await importRows([...examples("loyalty_points", 3, "more"), { text: "Where is   my ORDER", label: "loyalty_points" }]);

    expect(report.importId).toBeNull();
    expect(report.errors).toMatchObject([
      { line: 4, code: "conflicting_label", message: '"Where is   my ORDER" is labelled loyalty_points here but order_status in the database' },
    ]);
    expect(await prisma.trainingExample.count()).toBe(before);
  });

  it("counts what the database has towards a label's minimum", async () => {
    const report = await importRows(examples("loyalty_points", 1, "extra"));
    expect(report).toMatchObject({ errors: [], inserted: 1, perLabel: { loyalty_points: { inFile: 1, new: 1, total: 6 } } });
    expect((await importRows(examples("brand_new", 4))).errors).toMatchObject([{ code: "too_few_examples" }]);
  });

  it("skips the rows it already has when a file is imported again", async () => {
    const before = await prisma.trainingExample.count();

    const again = await importDataset({ content: csv(FIRST_IMPORT), format: "csv", actor: "bob@example.com", filename: "extra.csv" });
    expect(again).toMatchObject({ inserted: 0, skippedExisting: 10, duplicates: 1, errors: [] });
    const seed = await importDataset({
      content: await readFile(path.join(ROOT, "training/data/intents.csv")),
      format: "csv",
      actor: "bob@example.com",
      filename: "intents.csv",
    });
    expect(seed).toMatchObject({ inserted: 0, errors: [] });
    expect(seed.skippedExisting).toBe(await prisma.trainingExample.count({ where: { source: "seed" } }));

    expect(await prisma.trainingExample.count()).toBe(before);
  });
});

/** A customer message labelled by staff, one label after the other. */
async function labelledMessage(text: string, labels: { intent: string; source: "confirmed" | "corrected" | "customer_clarification" }[], role: "customer" | "bot" = "customer") {
  const customer = await prisma.customer.create({ data: { id: randomUUID() } });
  const conversation = await prisma.conversation.create({ data: { customerId: customer.id } });
  const message = await prisma.message.create({ data: { conversationId: conversation.id, role, text, intent: "out_of_scope", intentProbability: 0.4 } });
  const start = Date.now() - 60_000;
  for (const [i, label] of labels.entries()) {
    await prisma.intentLabel.create({ data: { messageId: message.id, ...label, labeledBy: "staff@example.com", createdAt: new Date(start + i * 1000) } });
  }
  return message;
}

type SnapshotLine = { text: string; label: string; split: string; source: string };

async function readSnapshot(file: string): Promise<{ bytes: Buffer; rows: SnapshotLine[] }> {
  const bytes = await readFile(file);
  const rows = bytes.toString("utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as SnapshotLine);
  return { bytes, rows };
}

describe("exportSnapshot", () => {
  it("holds the seed, imported and staff-labelled data, staff labels winning", async () => {
    // Confirmed, then corrected: the correction is the label.
    await labelledMessage("my parcel came crushed", [
      { intent: "order_status", source: "confirmed" },
      { intent: "delivery_problem", source: "corrected" },
    ]);
    // The same text as a seed example of order_status: staff's label overrides it.
    await labelledMessage("WHERE is my order", [{ intent: "complaint", source: "corrected" }]);
    // A customer's pick on a clarifying question labels their message like staff do.
    await labelledMessage("the thing about my voucher thing", [{ intent: "discounts_promo", source: "customer_clarification" }]);
    // Not training data: no label, or not a customer's message.
    await labelledMessage("unlabelled message", []);
    await labelledMessage("a bot reply", [{ intent: "greeting", source: "confirmed" }], "bot");

    const { path: file, manifestPath, manifest } = await exportSnapshot({ dataDir });
    const { bytes, rows } = await readSnapshot(file);

    const examples = await prisma.trainingExample.findMany();
    expect(rows).toHaveLength(examples.length + 2);
    expect(rows).toContainEqual({ text: "my parcel came crushed", label: "delivery_problem", split: splitOf("my parcel came crushed"), source: "staff" });
    const clarified = "the thing about my voucher thing";
    expect(rows).toContainEqual({ text: clarified, label: "discounts_promo", split: splitOf(clarified), source: "staff" });
    expect(rows.filter((r) => textKey(r.text) === "where is my order")).toEqual([
      { text: "WHERE is my order", label: "complaint", split: splitOf("where is my order"), source: "staff" },
    ]);
    expect(rows.some((r) => r.text === "unlabelled message" || r.text === "a bot reply")).toBe(false);
    expect(rows.filter((r) => r.source === "import")).toHaveLength(11);
    expect(rows.every((r) => r.split === splitOf(r.text))).toBe(true);
    const order = rows.map((r) => [r.label, textKey(r.text)]);
    expect(order).toEqual([...order].sort(([la, ka], [lb, kb]) => (la! < lb! ? -1 : la! > lb! ? 1 : ka! < kb! ? -1 : 1)));

    expect(file).toBe(path.resolve(dataDir, "snapshots", `snapshot-${manifest.sha256.slice(0, 12)}.jsonl`));
    expect(manifest.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(JSON.parse(await readFile(manifestPath, "utf8"))).toEqual(manifest);
    expect(manifestPath).toBe(file.replace(/\.jsonl$/, ".manifest.json"));
    expect(manifest.rows).toBe(rows.length);
    expect(manifest.holdout_percent).toBe(20);
    expect(manifest.per_source).toEqual({
      seed: rows.filter((r) => r.source === "seed").length,
      import: 11,
      staff: 3,
    });
    for (const [label, counts] of Object.entries(manifest.per_intent)) {
      expect(counts.train).toBe(rows.filter((r) => r.label === label && r.split === "train").length);
      expect(counts.holdout).toBe(rows.filter((r) => r.label === label && r.split === "holdout").length);
    }
    expect(Object.keys(manifest.per_intent)).toEqual([...new Set(rows.map((r) => r.label))]);
  });

  it("gives the same bytes for the same data, and keeps each text in its split when data changes", async () => {
    const first = await exportSnapshot({ dataDir });
    const second = await exportSnapshot({ dataDir, outPath: path.join(dataDir, "elsewhere", "mine.jsonl") });
    expect(second.path).toBe(path.join(dataDir, "elsewhere", "mine.jsonl"));
    expect(second.manifestPath).toBe(path.join(dataDir, "elsewhere", "mine.manifest.json"));
    expect(await readFile(second.path)).toEqual(await readFile(first.path));
    expect(second.manifest.sha256).toBe(first.manifest.sha256);

    await importRows(examples("gift_wrapping", 5, "later"));
    const third = await exportSnapshot({ dataDir });
    expect(third.manifest.sha256).not.toBe(first.manifest.sha256);
    const before = new Map((await readSnapshot(first.path)).rows.map((r) => [r.text, r.split]));
    const after = (await readSnapshot(third.path)).rows.filter((r) => before.has(r.text));
    expect(after).toHaveLength(before.size);
    expect(after.every((r) => r.split === before.get(r.text))).toBe(true);
  });

  it("refuses to export without data, or with a single label", async () => {
    await prisma.trainingExample.deleteMany();
    await prisma.message.deleteMany();
    await expect(exportSnapshot({ dataDir })).rejects.toThrow(/nothing to export/);

    await importRows(examples("greeting"));
    await expect(exportSnapshot({ dataDir })).rejects.toThrow(/only one label \(greeting\) has data/);
  });
});
