/**
 * Promotion and rollback of classifier versions. Promotion evaluates the candidate and production
 * on the same frozen holdout (the candidate's training snapshot) and enforces the gate unless
 * forced; the deployment row then tells every server to swap (lib/models/registry.ts).
 */
import { db } from "../db/client";
import { findModelVersion, markModelFailed, productionDeployment, recordDeployment } from "../db/ml";
import { exportSnapshot } from "../dataset/export";
import { config } from "../config";
import { ApiError } from "../http";
import { loadClassifier } from "../models/classifier";
import { modelStorePath } from "../models/registry";
import type { Prisma } from "../generated/prisma/client";
import { evaluate, readHoldout } from "./evaluate";
import { gateVerdict, type GateVerdict } from "./gate";
import type { Comparison } from "../protocol/ml";

/** A promotion or rollback that may not happen: a 409 over HTTP, with the verdict when the gate refused. */
export class PromotionError extends ApiError {
  constructor(
    message: string,
    readonly verdict?: GateVerdict,
  ) {
    super(409, verdict ? "gate_refused" : "promotion_refused", message, verdict ? { verdict } : {});
  }
}

async function resolveVersion(version: string) {
  if (version !== "latest") return findModelVersion(version);
  return db().modelVersion.findFirst({ where: { status: "ready", trainingRunId: { not: null } }, orderBy: { createdAt: "desc" } });
}

/** Evaluates `version` and production on the candidate's holdout; loading also smoke-tests the candidate. */
async function evaluateWithProduction(version: string) {
  const candidate = await findModelVersion(version);
  const current = await productionDeployment();
  if (!candidate) throw new PromotionError(`no model version ${version}`);
  if (!current) throw new PromotionError("nothing is in production yet: start the server once to deploy the seed classifier");
  const run = candidate.trainingRunId ? await db().trainingRun.findUnique({ where: { id: candidate.trainingRunId } }) : null;
  const snapshot = run?.snapshotPath ?? (await exportSnapshot({ dataDir: config().LOOPDESK_DATA_DIR })).path;
  const holdout = await readHoldout(snapshot);
  if (holdout.length === 0) throw new PromotionError(`the holdout of ${snapshot} is empty`);

  let candidateModel;
  try {
    candidateModel = await loadClassifier(modelStorePath(candidate.path), candidate.version);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    await markModelFailed(candidate.version, reason);
    throw new PromotionError(`${candidate.version} cannot be loaded and was marked failed: ${reason}`);
  }
  const productionModel = await loadClassifier(modelStorePath(current.model.path), current.model.version);
  const [candidateEval, productionEval] = [await evaluate(candidateModel, holdout), await evaluate(productionModel, holdout)];
  return { production: current.version, candidateEval, productionEval, verdict: gateVerdict(candidateEval, productionEval) };
}

export async function compareWithProduction(version: string): Promise<GateVerdict> {
  return (await evaluateWithProduction(version)).verdict;
}

// Versions are immutable and a candidate's holdout is frozen, so a comparison never changes.
const comparisons = new Map<string, Comparison>();

/** The console's side-by-side view of a candidate and production, confusion matrices included. */
export async function comparison(version: string): Promise<Comparison> {
  const production = await productionDeployment();
  const key = `${version}|${production?.version}`;
  const cached = comparisons.get(key);
  if (cached) return cached;
  const e = await evaluateWithProduction(version);
  const result: Comparison = {
    candidate: version,
    production: e.production,
    verdict: e.verdict,
    candidateConfusion: e.candidateEval.confusion,
    productionConfusion: e.productionEval.confusion,
  };
  comparisons.set(key, result);
  return result;
}

export async function promote(opts: { version: string; actor: string; force?: boolean; reason?: string }) {
  const model = await resolveVersion(opts.version);
  if (!model) throw new PromotionError(opts.version === "latest" ? "there is no trained candidate to promote" : `no model version ${opts.version}`);
  if (model.status === "failed") throw new PromotionError(`${model.version} failed to load earlier (${model.failureReason ?? "unknown"}); it cannot be promoted`);
  const current = await productionDeployment();
  if (current?.version === model.version) throw new PromotionError(`${model.version} is already in production`);
  if (opts.force && !opts.reason?.trim()) throw new PromotionError("--force needs a --reason, which is recorded");

  const verdict = await compareWithProduction(model.version);
  if (!verdict.pass && !opts.force) {
    throw new PromotionError(`the gate refused ${model.version}:\n  ${verdict.reasons.join("\n  ")}\n(use --force with --reason to override)`, verdict);
  }
  const deployment = await recordDeployment({
    version: model.version,
    action: "promote",
    actor: opts.actor,
    forced: !verdict.pass,
    reason: opts.reason,
    gate: verdict as unknown as Prisma.InputJsonValue,
  });
  return { deployment, verdict };
}

/** Puts back the version that was in production before the current one. */
export async function rollback(opts: { actor: string; reason?: string }) {
  const current = await productionDeployment();
  if (!current) throw new PromotionError("nothing is in production");
  const previous = await db().deployment.findFirst({
    where: { createdAt: { lt: current.createdAt }, version: { not: current.version }, model: { status: "ready" } },
    orderBy: { createdAt: "desc" },
  });
  if (!previous) throw new PromotionError(`${current.version} is the only version ever deployed: nothing to roll back to`);
  return recordDeployment({ version: previous.version, action: "rollback", actor: opts.actor, reason: opts.reason });
}
