/**
 * Data retention: deletes conversations that have been quiet for N days, or everything of one customer
 * (a deletion request), with their messages and the staff intent labels and language-model examples
 * derived from them (by cascade), and their copies on disk (found and removed by the caller's
 * `removeCopies`, lib/dataset/purge-copies.ts). Every purge is audited.
 */
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

/** What the purged rows left elsewhere, for `removeCopies` to find (and, unless a dry run, delete). */
export interface PurgedData {
  /** Texts of the purged customer messages that staff labelled (in classifier snapshots and holdouts). */
  labelledTexts: string[];
  /** `conversation:<id>` of every purged conversation (the group of its rows in LM snapshots). */
  groups: string[];
  /** Every snapshot file a training run recorded, wherever it was written. */
  snapshotPaths: string[];
  /** Every model version's folder, relative to the model store. */
  modelPaths: string[];
}

export interface PurgeResult {
  counts: PurgeCounts;
  /** Files deleted or cleaned of the purged data (or that would be, on a dry run). */
  files: string[];
}

/**
 * Deletes (or on a dry run, counts) the data in scope. The copies on disk are removed first, inside the
 * transaction: if that fails, nothing is deleted and the purge can simply be run again.
 */
export async function purgeCustomerData(opts: {
  scope: PurgeScope;
  dryRun: boolean;
  actor: string;
  removeCopies: (data: PurgedData) => Promise<string[]>;
}): Promise<PurgeResult> {
  const { dryRun } = opts;
  const { conversations, customers, subject } = filters(opts.scope);
  return db().$transaction(async (tx) => {
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
    const runs = await tx.trainingRun.findMany({ distinct: ["snapshotPath"], select: { snapshotPath: true } });
    const models = await tx.modelVersion.findMany({ select: { path: true } });
    const files = await opts.removeCopies({
      labelledTexts: labelled.map((m) => m.text),
      groups: purged.map((c) => `conversation:${c.id}`),
      snapshotPaths: runs.map((r) => r.snapshotPath),
      modelPaths: models.map((m) => m.path),
    });
    if (!dryRun) {
      await tx.conversation.deleteMany({ where: conversations }); // messages, labels and LM examples cascade
      await tx.customer.deleteMany({ where: customers });
      await tx.auditLog.create({ data: { actor: opts.actor, action: "data.purge", subject, details: { ...counts, files: files.length } } });
    }
    return { counts, files };
  }, { timeout: 600_000 }); // a first purge of a large history takes a while
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
