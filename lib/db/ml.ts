/** Database access of the train-and-serve loop: model versions and their deployments. */
import type { Deployment, Prisma } from "../generated/prisma/client";
import type { TrainerMetrics } from "../protocol/ml";
import { audit } from "./audit";
import { db } from "./client";
import { notify } from "./listen";

export const DEPLOYMENT_CHANNEL = "loopdesk_deployments";

/** The version in production: the newest deployment's, passing over versions that failed to load. */
export async function productionDeployment() {
  return db().deployment.findFirst({
    where: { model: { status: "ready" } },
    orderBy: { createdAt: "desc" },
    include: { model: true },
  });
}

export async function findModelVersion(version: string) {
  return db().modelVersion.findUnique({ where: { version } });
}

/** Every version, newest first. */
export async function listModelVersions() {
  return db().modelVersion.findMany({ orderBy: { createdAt: "desc" } });
}

/** The newest usable version a training run produced: `latest` for promotion. */
export async function latestCandidate() {
  return db().modelVersion.findFirst({ where: { status: "ready", trainingRunId: { not: null } }, orderBy: { createdAt: "desc" } });
}

export async function registerModelVersion(data: {
  version: string;
  path: string;
  metrics: TrainerMetrics;
  datasetSha256: string;
  trainingRunId?: string;
}) {
  return db().modelVersion.upsert({ where: { version: data.version }, create: { ...data, metrics: data.metrics as Prisma.InputJsonValue }, update: {} });
}

/** A registered version's metrics, as parsed when it was registered (`trainerMetricsSchema`). */
export function versionMetrics(version: { metrics: Prisma.JsonValue }): TrainerMetrics {
  return version.metrics as TrainerMetrics;
}

export async function markModelFailed(version: string, reason: string) {
  await db().modelVersion.update({ where: { version }, data: { status: "failed", failureReason: reason.slice(0, 2000) } });
  await audit("system", "model.load_failed", version, { reason });
}

/** Records a deployment and tells every server (LISTEN/NOTIFY) to load the version. */
export async function recordDeployment(data: {
  version: string;
  action: "promote" | "rollback" | "bootstrap";
  actor: string;
  forced?: boolean;
  reason?: string;
  /** The gate's verdict on a promotion, stored as JSON. */
  gate?: object;
}) {
  const deployment = await db().$transaction(async (tx) => {
    const d = await tx.deployment.create({ data: { ...data, gate: data.gate as Prisma.InputJsonValue | undefined } });
    await tx.auditLog.create({
      data: { actor: data.actor, action: `model.${data.action}`, subject: data.version, details: { forced: data.forced ?? false, reason: data.reason ?? null } },
    });
    return d;
  });
  await notify(DEPLOYMENT_CHANNEL, data.version);
  return deployment;
}

export async function deploymentHistory(take = 50) {
  return db().deployment.findMany({ orderBy: { createdAt: "desc" }, take });
}

/** The usable version deployed before `current` (another version than it): where a rollback goes. */
export async function previousDeployment(current: Deployment) {
  return db().deployment.findFirst({
    where: { createdAt: { lt: current.createdAt }, version: { not: current.version }, model: { status: "ready" } },
    orderBy: { createdAt: "desc" },
  });
}
