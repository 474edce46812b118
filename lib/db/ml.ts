/** Database access of the train-and-serve loop: model versions, deployments, runs, audit. */
import { db } from "./client";
import type { Prisma } from "../generated/prisma/client";

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

export async function registerModelVersion(data: {
  version: string;
  path: string;
  metrics: Prisma.InputJsonValue;
  datasetSha256: string;
  trainingRunId?: string;
}) {
  return db().modelVersion.upsert({ where: { version: data.version }, create: data, update: {} });
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
  gate?: Prisma.InputJsonValue;
}) {
  const deployment = await db().$transaction(async (tx) => {
    const d = await tx.deployment.create({ data });
    await tx.auditLog.create({
      data: { actor: data.actor, action: `model.${data.action}`, subject: data.version, details: { forced: data.forced ?? false, reason: data.reason ?? null } },
    });
    return d;
  });
  await db().$executeRaw`SELECT pg_notify(${DEPLOYMENT_CHANNEL}, ${data.version})`;
  return deployment;
}

export async function deploymentHistory(take = 50) {
  return db().deployment.findMany({ orderBy: { createdAt: "desc" }, take });
}

export async function audit(actor: string, action: string, subject: string, details?: Prisma.InputJsonValue) {
  await db().auditLog.create({ data: { actor, action, subject, details } });
}
