/**
 * Data retention: deletes conversations that have been quiet for N days, or everything of one customer
 * (a deletion request), with their messages and the staff intent labels and language-model examples
 * derived from them (by cascade), and the dataset snapshots on disk that hold those labelled texts or
 * examples. Every purge is audited.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { textKey } from "../text";
import type { Prisma } from "../generated/prisma/client";
import { db } from "./client";

export type PurgeScope = { olderThanDays: number } | { customerId: string };

export interface PurgeCounts {
  customers: number;
  conversations: number;
  messages: number;
  labels: number;
  lmExamples: number;
}

export interface PurgeResult {
  counts: PurgeCounts;
  /** Snapshot files (and their manifests) holding purged labelled texts: deleted, or to delete on a dry run. */
  snapshots: string[];
}

export async function purgeCustomerData(opts: { scope: PurgeScope; dryRun: boolean; actor: string; snapshotsDir: string }): Promise<PurgeResult> {
  const { dryRun } = opts;
  const { conversations, customers, subject } = filters(opts.scope);
  const { counts, labelledTexts, groups } = await db().$transaction(async (tx) => {
    const counts: PurgeCounts = {
      customers: await tx.customer.count({ where: customers }),
      conversations: await tx.conversation.count({ where: conversations }),
      messages: await tx.message.count({ where: { conversation: conversations } }),
      labels: await tx.intentLabel.count({ where: { message: { conversation: conversations } } }),
      lmExamples: await tx.lmExample.count({ where: { conversation: conversations } }),
    };
    const labelled = await tx.message.findMany({ where: { conversation: conversations, intentLabels: { some: {} } }, select: { text: true } });
    // LM snapshot rows made from a conversation (approved answers, customer 👍 replies) are grouped by it.
    const purged = await tx.conversation.findMany({ where: conversations, select: { id: true } });
    if (!dryRun) {
      await tx.conversation.deleteMany({ where: conversations }); // messages, labels and LM examples cascade
      await tx.customer.deleteMany({ where: customers });
      await tx.auditLog.create({ data: { actor: opts.actor, action: "data.purge", subject, details: { ...counts } } });
    }
    return { counts, labelledTexts: labelled.map((m) => m.text), groups: purged.map((c) => `conversation:${c.id}`) };
  }, { timeout: 600_000 }); // a first purge of a large history takes a while

  const snapshots = await snapshotsHolding(opts.snapshotsDir, labelledTexts, groups);
  if (!dryRun) await Promise.all(snapshots.map((file) => rm(file, { force: true })));
  return { counts, snapshots };
}

function filters(scope: PurgeScope): { conversations: Prisma.ConversationWhereInput; customers: Prisma.CustomerWhereInput; subject: string } {
  if ("customerId" in scope) {
    return { conversations: { customerId: scope.customerId }, customers: { id: scope.customerId }, subject: `customer:${scope.customerId}` };
  }
  const cutoff = new Date(Date.now() - scope.olderThanDays * 86_400_000);
  return {
    conversations: { lastMessageAt: { lt: cutoff } },
    // Customers are only an id: they go when old and left with no newer conversation.
    customers: { createdAt: { lt: cutoff }, conversations: { every: { lastMessageAt: { lt: cutoff } } } },
    subject: `older-than:${scope.olderThanDays}d`,
  };
}

/**
 * Snapshot files whose staff-labelled rows include any of the texts (classifier snapshots), or whose
 * rows come from any of the conversation groups (LM snapshots), with their manifests.
 */
async function snapshotsHolding(dir: string, texts: string[], groups: string[]): Promise<string[]> {
  if (texts.length === 0 && groups.length === 0) return [];
  const keys = new Set(texts.map(textKey));
  const conversations = new Set(groups);
  const files = await readdir(dir).catch(() => [] as string[]);
  const found: string[] = [];
  for (const name of files.filter((f) => f.endsWith(".jsonl")).sort()) {
    const file = path.join(dir, name);
    const rows = (await readFile(file, "utf8")).split("\n").filter(Boolean);
    const holds = rows.some((line) => {
      const row = JSON.parse(line) as { text?: string; source?: string; group?: string };
      return (row.source === "staff" && keys.has(textKey(row.text ?? ""))) || (row.group !== undefined && conversations.has(row.group));
    });
    if (holds) found.push(file, file.replace(/\.jsonl$/, ".manifest.json"));
  }
  return found;
}
