/**
 * Promotion and rollback of model versions, per kind. A classifier candidate is evaluated with
 * production on the same frozen holdout (the candidate's training snapshot); a language-model
 * candidate goes through the LM gate (lib/training/lm-gate.ts). The gate is enforced unless forced;
 * the deployment row then tells every server to swap (lib/models/registry.ts). A classifier promoted
 * from shadow comes with its live figures beside the gate's, and its shadowing ends.
 */
import { findModelVersion, latestCandidate, markModelFailed, previousDeployment, productionDeployment, recordDeployment, type ModelKind } from "../db/ml";
import { findRun } from "../db/runs";
import { currentShadow, shadowStats } from "../db/shadow";
import { exportSnapshot } from "../dataset/export";
import { config } from "../config";
import { ApiError } from "../http";
import { loadClassifier } from "../models/classifier";
import { modelStorePath } from "../models/store";
import { evaluate, readHoldout } from "./evaluate";
import { gateVerdict, type GateVerdict } from "./gate";
import { LmGateError, runLmGate } from "./lm-gate";
import type { Comparison, LmGateVerdict } from "../protocol/ml";

/** A promotion or rollback that may not happen: a 409 over HTTP, with the verdict when the gate refused. */
export class PromotionError extends ApiError {
  constructor(
    message: string,
    readonly verdict?: GateVerdict | LmGateVerdict,
  ) {
    super(409, verdict ? "gate_refused" : "promotion_refused", message, verdict ? { verdict } : {});
  }
}

/** A promotion reuses a gate run of the same candidate against the same production version this recent. */
const LM_GATE_REUSE_MS = 60 * 60_000;

const KIND_NAMES: Record<ModelKind, string> = { classifier: "classifier", lm: "language model" };

async function resolveVersion(version: string, kind: ModelKind) {
  const model = version === "latest" ? await latestCandidate(kind) : await findModelVersion(version);
  if (model && model.kind !== kind) {
    throw new PromotionError(`${model.version} is a ${KIND_NAMES[model.kind]} version, not a ${KIND_NAMES[kind]} one${model.kind === "lm" ? " (use --kind lm)" : ""}`);
  }
  return model;
}

/** Evaluates `version` and production on the candidate's holdout; loading also smoke-tests the candidate. */
async function evaluateWithProduction(version: string) {
  const candidate = await resolveVersion(version, "classifier");
  const current = await productionDeployment();
  if (!candidate) throw new PromotionError(`no model version ${version}`);
  if (!current) throw new PromotionError("nothing is in production yet: start the server once to deploy the seed classifier");
  const run = candidate.trainingRunId ? await findRun(candidate.trainingRunId) : null;
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

export async function promote(opts: {
  version: string;
  kind?: ModelKind;
  actor: string;
  force?: boolean;
  reason?: string;
  /** LM gate only, for tests: the first N questions of the frozen set and N held-out examples instead of all. */
  questionLimit?: number;
  holdoutLimit?: number;
  onProgress?: (message: string) => void;
}) {
  const kind = opts.kind ?? "classifier";
  const model = await resolveVersion(opts.version, kind);
  if (!model) throw new PromotionError(opts.version === "latest" ? `there is no trained ${KIND_NAMES[kind]} candidate to promote` : `no model version ${opts.version}`);
  if (model.status === "failed") throw new PromotionError(`${model.version} failed to load earlier (${model.failureReason ?? "unknown"}); it cannot be promoted`);
  const current = await productionDeployment(kind);
  if (current?.version === model.version) throw new PromotionError(`${model.version} is already in production`);
  if (opts.force && !opts.reason?.trim()) throw new PromotionError("--force needs a --reason, which is recorded");

  const verdict = kind === "lm" ? await lmVerdict(model.version, opts) : await compareWithProduction(model.version);
  if (!verdict.pass && !opts.force) {
    throw new PromotionError(`the gate refused ${model.version}:\n  ${verdict.reasons.join("\n  ")}\n(use --force with --reason to override)`, verdict);
  }
  const fromShadow = kind === "classifier" && (await currentShadow())?.version === model.version;
  const shadow = fromShadow ? await shadowStats(model.version) : null;
  const deployment = await recordDeployment({
    version: model.version,
    action: "promote",
    actor: opts.actor,
    forced: !verdict.pass,
    reason: opts.reason,
    gate: shadow ? { ...verdict, shadow } : verdict,
    endShadow: fromShadow,
  });
  return { deployment, verdict, shadow };
}

async function lmVerdict(version: string, opts: { actor: string; questionLimit?: number; holdoutLimit?: number; onProgress?: (message: string) => void }) {
  try {
    return (await runLmGate({ version, ...opts, reuseWithinMs: LM_GATE_REUSE_MS })).verdict;
  } catch (err) {
    if (err instanceof LmGateError) throw new PromotionError(err.message);
    throw err;
  }
}

/** Puts back the version of the kind that was in production before the current one. */
export async function rollback(opts: { kind?: ModelKind; actor: string; reason?: string }) {
  const kind = opts.kind ?? "classifier";
  const current = await productionDeployment(kind);
  if (!current) throw new PromotionError(`no ${KIND_NAMES[kind]} is in production`);
  const previous = await previousDeployment(current, kind);
  if (!previous) throw new PromotionError(`${current.version} is the only ${KIND_NAMES[kind]} version ever deployed: nothing to roll back to`);
  return recordDeployment({ version: previous.version, action: "rollback", actor: opts.actor, reason: opts.reason });
}
