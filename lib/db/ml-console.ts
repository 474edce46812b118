/** What the ML console reads: the dataset, runs, model versions, the audit log and production drift. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { TrainingRun } from "../generated/prisma/client";
import { PRODUCTION_WINDOWS, type AuditEntry, type DatasetIntent, type DatasetSummary, type DatasetWarning, type LmGateReportView, type LmGateVerdict, type LmModelView, type ModelView, type ProductionStats, type ProductionWindow, type RunProgress, type RunStatus, type RunView, type TrainParams } from "../protocol/ml";
import { config } from "../config";
import { db } from "./client";
import { labelledSources } from "./examples";
import { latestLmGateReport, latestLmGateReports, listModelVersions, lmVersionMetrics, productionDeployment, versionMetrics } from "./ml";
import type { ReplyDecision } from "./replies";

/** Fewer examples than this in an intent gets a warning: the holdout then has only a handful. */
export const RECOMMENDED_MIN_EXAMPLES = 20;
/** How far back logged predictions count for "never predicted". */
const PREDICTION_LOOKBACK_MS = 30 * 24 * 3600_000;

export async function datasetSummary(): Promise<DatasetSummary> {
  const { examples, staff } = await labelledSources();
  // The effective dataset, as a snapshot would hold it: a staff label overrides an example's.
  const effective = new Map<string, { label: string; source: "seed" | "import" | "staff" }>();
  for (const e of examples) effective.set(e.textKey, { label: e.label, source: e.source });
  for (const m of staff) effective.set(m.textKey, { label: m.label, source: "staff" });

  const byIntent = new Map<string, DatasetIntent>();
  const totals = { seed: 0, import: 0, staff: 0, total: 0 };
  for (const { label, source } of effective.values()) {
    const row = byIntent.get(label) ?? { intent: label, seed: 0, import: 0, staff: 0, total: 0 };
    row[source]++;
    row.total++;
    totals[source]++;
    totals.total++;
    byIntent.set(label, row);
  }
  const intents = [...byIntent.values()].sort((a, b) => a.intent.localeCompare(b.intent));

  const warnings: DatasetWarning[] = [];
  for (const i of intents) {
    if (i.total < RECOMMENDED_MIN_EXAMPLES) {
      warnings.push({ code: "too_few_examples", intent: i.intent, message: `${i.intent} has ${i.total} example(s); at least ${RECOMMENDED_MIN_EXAMPLES} are recommended.` });
    }
  }
  // The same normalised text under different labels: the snapshot keeps only the newest staff label.
  const labelsByText = new Map<string, { text: string; labels: Set<string> }>();
  for (const r of [...examples, ...staff]) {
    const entry = labelsByText.get(r.textKey) ?? { text: r.text, labels: new Set<string>() };
    entry.labels.add(r.label);
    labelsByText.set(r.textKey, entry);
  }
  const conflicts = [...labelsByText.values()].filter((e) => e.labels.size > 1);
  for (const c of conflicts.slice(0, 20)) {
    warnings.push({
      code: "conflicting_labels",
      intent: null,
      message: `"${c.text.slice(0, 80)}" is labelled ${[...c.labels].sort().join(" and ")}; the newest staff label is used.`,
    });
  }
  if (conflicts.length > 20) warnings.push({ code: "conflicting_labels", intent: null, message: `… and ${conflicts.length - 20} more texts with conflicting labels.` });

  const predicted = await predictedIntents();
  for (const i of intents) {
    if (!predicted.has(i.intent)) {
      warnings.push({ code: "never_predicted", intent: i.intent, message: `The production model never predicts ${i.intent}: not on its holdout, not in the last 30 days of chats.` });
    }
  }
  return { intents, totals, warnings };
}

/** Intents the production classifier predicted: on its own holdout (predictions.jsonl) and in recent chats. */
async function predictedIntents(): Promise<Set<string>> {
  const predicted = new Set<string>();
  const production = await productionDeployment();
  if (production) {
    const file = path.resolve(config().LOOPDESK_MODELS_DIR, production.model.path, "predictions.jsonl");
    const lines = await readFile(file, "utf8").then((t) => t.split("\n"), () => []);
    for (const line of lines) if (line.trim()) predicted.add((JSON.parse(line) as { pred_int8: string }).pred_int8);
  }
  const logged = await db().message.groupBy({
    by: ["intent"],
    where: { role: "customer", intent: { not: null }, createdAt: { gte: new Date(Date.now() - PREDICTION_LOOKBACK_MS) } },
  });
  for (const l of logged) if (l.intent) predicted.add(l.intent);
  return predicted;
}

type RunRow = TrainingRun & { modelVersion: { version: string } | null };

function runView(r: RunRow, withLogs: boolean): RunView {
  const progress = (r.progress ?? {}) as Partial<RunProgress>;
  return {
    id: r.id,
    kind: r.kind,
    status: r.status as RunStatus,
    device: r.device,
    params: r.params as TrainParams,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    durationMs: r.durationMs,
    error: r.error,
    progress: { last: progress.last ?? null, losses: progress.losses ?? [], evals: progress.evals ?? [] },
    metrics: (r.metrics as Record<string, unknown> | null) ?? null,
    modelVersion: r.modelVersion?.version ?? null,
    cancelRequested: r.cancelRequestedAt !== null,
    ...(withLogs ? { logs: r.logs } : {}),
  };
}

export async function listRuns(limit = 50): Promise<RunView[]> {
  const rows = await db().trainingRun.findMany({
    orderBy: { createdAt: "desc" },
    take: limit,
    omit: { logs: true },
    include: { modelVersion: { select: { version: true } } },
  });
  return rows.map((r) => runView({ ...r, logs: "" }, false));
}

export async function getRun(id: string): Promise<RunView | null> {
  const row = await db().trainingRun.findUnique({ where: { id }, include: { modelVersion: { select: { version: true } } } });
  return row ? runView(row, true) : null;
}

export async function listModels(): Promise<ModelView[]> {
  const [versions, production] = await Promise.all([listModelVersions(), productionDeployment()]);
  return versions.map((v) => {
    const m = versionMetrics(v);
    return {
      version: v.version,
      status: v.status,
      failureReason: v.failureReason,
      createdAt: v.createdAt.toISOString(),
      accuracy: m.accuracy ?? null,
      macroF1: m.macro_f1 ?? null,
      device: m.device ?? null,
      trainingRunId: v.trainingRunId,
      production: v.version === production?.version,
      calibration: m.calibration
        ? {
            temperature: m.calibration.temperature,
            eceBefore: m.calibration.ece_before,
            eceAfter: m.calibration.ece_after,
            fittedOn: m.calibration.fitted_on,
            nFitted: m.calibration.n_fitted,
            oosMethod: m.calibration.oos.method,
          }
        : null,
    };
  });
}

export async function auditLog(limit = 100): Promise<AuditEntry[]> {
  const rows = await db().auditLog.findMany({ orderBy: { createdAt: "desc" }, take: limit });
  return rows.map((r) => ({ id: r.id, actor: r.actor, action: r.action, subject: r.subject, details: r.details, createdAt: r.createdAt.toISOString() }));
}

/** The decisions whose reply hands a chat to staff. */
const HANDOFF_DECISIONS: ReplyDecision[] = ["handoff_asked_for_human", "handoff_low_confidence"];

export async function productionStats(window: ProductionWindow): Promise<ProductionStats> {
  const since = new Date(Date.now() - PRODUCTION_WINDOWS[window]);
  const prisma = db();
  const inWindow = { createdAt: { gte: since } };
  const [intents, overall, conversations, handedOver, botReplies, badReplies, helpfulReplies, unhelpfulReplies] = await Promise.all([
    prisma.message.groupBy({
      by: ["intent"],
      where: { role: "customer", intent: { not: null }, ...inWindow },
      _count: { _all: true },
      _avg: { intentProbability: true },
    }),
    prisma.message.aggregate({ where: { role: "customer", ...inWindow }, _count: { _all: true }, _avg: { intentProbability: true } }),
    prisma.conversation.count({ where: inWindow }),
    prisma.message.findMany({ where: { role: "bot", decision: { in: HANDOFF_DECISIONS }, ...inWindow }, distinct: ["conversationId"], select: { conversationId: true } }),
    prisma.message.count({ where: { role: "bot", ...inWindow } }),
    prisma.message.count({ where: { role: "bot", feedback: "bad", ...inWindow } }),
    prisma.message.count({ where: { role: "bot", customerHelpful: true, ...inWindow } }),
    prisma.message.count({ where: { role: "bot", customerHelpful: false, ...inWindow } }),
  ]);
  const share = (n: number) => (botReplies ? n / botReplies : null);
  return {
    window,
    since: since.toISOString(),
    customerMessages: overall._count._all,
    intents: intents
      .map((i) => ({ intent: i.intent!, count: i._count._all, meanConfidence: i._avg.intentProbability ?? 0 }))
      .sort((a, b) => b.count - a.count),
    meanConfidence: overall._avg.intentProbability,
    conversations,
    handedOver: handedOver.length,
    handoffRate: conversations ? handedOver.length / conversations : null,
    botReplies,
    badReplies,
    badReplyShare: share(badReplies),
    helpfulReplies,
    helpfulReplyShare: share(helpfulReplies),
    unhelpfulReplies,
    unhelpfulReplyShare: share(unhelpfulReplies),
  };
}

/** The language-model versions, newest first, with their trainer figures and their newest gate run. */
export async function listLmModels(): Promise<LmModelView[]> {
  const [versions, production] = await Promise.all([listModelVersions("lm"), productionDeployment("lm")]);
  const gates = await latestLmGateReports(versions.map((v) => v.version));
  return versions.map((v) => {
    const m = lmVersionMetrics(v);
    const gate = gates.get(v.version);
    return {
      version: v.version,
      status: v.status,
      failureReason: v.failureReason,
      createdAt: v.createdAt.toISOString(),
      trainingRunId: v.trainingRunId,
      production: v.version === production?.version,
      trainer: m
        ? { holdoutPerplexity: m.holdout_perplexity, baseHoldoutPerplexity: m.base_holdout_perplexity, device: m.device, seconds: m.seconds, examples: m.examples }
        : null,
      gate: gate ? { production: gate.production, pass: gate.pass, verdict: gate.verdict as unknown as LmGateVerdict, createdAt: gate.createdAt.toISOString() } : null,
    };
  });
}

/** The newest gate run of a candidate LM with every question's two replies: the side-by-side page. */
export async function lmGateReport(candidate: string): Promise<LmGateReportView | null> {
  const r = await latestLmGateReport(candidate);
  if (!r) return null;
  return {
    id: r.id,
    candidate: r.candidate,
    production: r.production,
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy,
    verdict: r.verdict as unknown as LmGateVerdict,
    replies: r.replies as unknown as LmGateReportView["replies"],
  };
}
