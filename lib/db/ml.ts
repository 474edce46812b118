/** Database access of the train-and-serve loop: model versions and their deployments. */
import type { Deployment, ModelKind, Prisma } from "../generated/prisma/client";
import type { LmGateReportView, LmGateVerdict, LmTrainerMetrics, TrainerMetrics } from "../protocol/ml";
import { audit } from "./audit";
import { db } from "./client";
import { notify } from "./listen";

export const DEPLOYMENT_CHANNEL = "loopdesk_deployments";

export type { ModelKind };

/** The version of a kind in production: the newest deployment's, passing over versions that failed to load. */
export async function productionDeployment(kind: ModelKind = "classifier") {
  return db().deployment.findFirst({
    where: { model: { status: "ready", kind } },
    orderBy: { createdAt: "desc" },
    include: { model: true },
  });
}

export async function findModelVersion(version: string) {
  return db().modelVersion.findUnique({ where: { version } });
}

/** Every version of a kind, newest first. */
export async function listModelVersions(kind: ModelKind = "classifier") {
  return db().modelVersion.findMany({ where: { kind }, orderBy: { createdAt: "desc" } });
}

/** The newest usable version of a kind a training run produced: `latest` for promotion. */
export async function latestCandidate(kind: ModelKind = "classifier") {
  return db().modelVersion.findFirst({ where: { kind, status: "ready", trainingRunId: { not: null } }, orderBy: { createdAt: "desc" } });
}

export async function registerModelVersion(data: {
  version: string;
  kind?: ModelKind;
  path: string;
  metrics: TrainerMetrics | LmTrainerMetrics | null;
  datasetSha256: string;
  trainingRunId?: string;
}) {
  // ON CONFLICT DO NOTHING: servers starting at once on a fresh database each register the seed models.
  await db().modelVersion.createMany({ data: [{ ...data, metrics: (data.metrics ?? {}) as Prisma.InputJsonValue }], skipDuplicates: true });
  return db().modelVersion.findUniqueOrThrow({ where: { version: data.version } });
}

/** A registered classifier version's metrics, as parsed when it was registered (`trainerMetricsSchema`). */
export function versionMetrics(version: { metrics: Prisma.JsonValue }): TrainerMetrics {
  return version.metrics as TrainerMetrics;
}

/** A registered LM version's trainer metrics (`lmTrainerMetricsSchema`); null for the stock model, which was never trained here. */
export function lmVersionMetrics(version: { metrics: Prisma.JsonValue }): LmTrainerMetrics | null {
  const m = version.metrics as Partial<LmTrainerMetrics>;
  return m.kind === "lm" ? (m as LmTrainerMetrics) : null;
}

export async function markModelFailed(version: string, reason: string) {
  await db().modelVersion.update({ where: { version }, data: { status: "failed", failureReason: reason.slice(0, 2000) } });
  await audit("system", "model.load_failed", version, { reason });
}

/** Records a deployment and tells every server (LISTEN/NOTIFY) to load the version (and to stop shadowing, with `endShadow`). */
export async function recordDeployment(data: {
  version: string;
  action: "promote" | "rollback" | "bootstrap";
  actor: string;
  forced?: boolean;
  reason?: string;
  /** The gate's verdict on a promotion, stored as JSON. */
  gate?: object;
  /** The version was in shadow: shadowing ends with its promotion (lib/db/shadow.ts). */
  endShadow?: boolean;
}) {
  const { endShadow, ...row } = data;
  const deployment = await db().$transaction(async (tx) => {
    const d = await tx.deployment.create({ data: { ...row, gate: row.gate as Prisma.InputJsonValue | undefined } });
    await tx.auditLog.create({
      data: { actor: data.actor, action: `model.${data.action}`, subject: data.version, details: { forced: data.forced ?? false, reason: data.reason ?? null } },
    });
    if (endShadow) {
      await tx.shadowDeployment.create({ data: { version: null, actor: data.actor, reason: "promoted" } });
      await tx.auditLog.create({ data: { actor: data.actor, action: "model.shadow_off", subject: "", details: { reason: "promoted" } } });
    }
    return d;
  });
  await notify(DEPLOYMENT_CHANNEL, data.version);
  return deployment;
}

export async function deploymentHistory(take = 50, kind?: ModelKind) {
  return db().deployment.findMany({ where: kind ? { model: { kind } } : {}, orderBy: { createdAt: "desc" }, take });
}

/** The usable version of the same kind deployed before `current` (another version than it): where a rollback goes. */
export async function previousDeployment(current: Deployment, kind: ModelKind = "classifier") {
  return db().deployment.findFirst({
    where: { createdAt: { lt: current.createdAt }, version: { not: current.version }, model: { status: "ready", kind } },
    orderBy: { createdAt: "desc" },
  });
}

/** Stores one run of the LM gate (lib/training/lm-gate.ts): the figures and every reply of both models. */
export async function saveLmGateReport(data: {
  candidate: string;
  production: string;
  questionsSha256: string;
  verdict: LmGateVerdict;
  replies: LmGateReportView["replies"];
  createdBy: string;
}) {
  return db().lmGateReport.create({
    data: { ...data, pass: data.verdict.pass, verdict: data.verdict as unknown as Prisma.InputJsonValue, replies: data.replies as unknown as Prisma.InputJsonValue },
  });
}

/** The newest gate report of a candidate LM (against whichever version was in production then). */
export async function latestLmGateReport(candidate: string) {
  return db().lmGateReport.findFirst({ where: { candidate }, orderBy: { createdAt: "desc" } });
}

/** The newest gate report of each of these candidates. */
export async function latestLmGateReports(candidates: string[]) {
  const reports = await db().lmGateReport.findMany({
    where: { candidate: { in: candidates } },
    orderBy: { createdAt: "desc" },
    select: { candidate: true, production: true, pass: true, verdict: true, createdAt: true },
  });
  return new Map(candidates.flatMap((c) => {
    const r = reports.find((x) => x.candidate === c);
    return r ? [[c, r] as const] : [];
  }));
}
