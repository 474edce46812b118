/**
 * A fine-tuning run of either kind: snapshot the data (createRun), then run the Python trainer
 * (classifier: training/train.py; language model: training/train_lm.py) as a child process, record
 * progress, logs and a heartbeat on the TrainingRun row, publish live events, and register the result
 * as a candidate model version (executeRun). The trainers write their output atomically, so a failed
 * or cancelled run registers nothing.
 * The CLI calls both in its own process; the console queues runs for the worker (lib/training/queue.ts).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import type { z } from "zod";
import { config } from "../config";
import { audit } from "../db/audit";
import { findModelVersion, registerModelVersion } from "../db/ml";
import * as runs from "../db/runs";
import { exportSnapshot } from "../dataset/export";
import { exportLmSnapshot } from "../dataset/lm-export";
import { log as logger } from "../log";
import { metrics } from "../metrics";
import { loadClassifier } from "../models/classifier";
import { loadLanguageModel } from "../models/lm-process";
import { modelStorePath } from "../models/store";
import {
  evalLineSchemas,
  lmTrainerMetricsSchema,
  progressLineSchema,
  trainerMetricsSchema,
  type Device,
  type EpochEval,
  type LossPoint,
  type ModelKind,
  type RunEvent,
  type RunProgress,
  type TrainParams,
} from "../protocol/ml";
import { publishRunEvent } from "./events";
import { freezeQuestions } from "./lm-gate";

export { trainParamsSchema, type Device, type TrainParams } from "../protocol/ml";

// Not a module for the bundler to trace (the venv's python is a symlink out of the project).
const PYTHON = path.resolve(/* turbopackIgnore: true */ process.cwd(), ".venv/bin/python");
const TRAINER_MODULES: Record<ModelKind, string> = { classifier: "training.train", lm: "training.train_lm" };
/** The trainer: `-m training.train[_lm]`, or another script taking the same arguments (LOOPDESK_TRAINER_SCRIPT, e.g. in tests). */
const trainer = (kind: ModelKind) =>
  process.env.LOOPDESK_TRAINER_SCRIPT ? [path.resolve(process.env.LOOPDESK_TRAINER_SCRIPT)] : ["-m", TRAINER_MODULES[kind]];
/** Where each kind's trained versions live in the model store. */
const VERSIONS_DIR: Record<ModelKind, string> = { classifier: "classifier", lm: "lm-versions" };
const MAX_LOG_CHARS = 200_000;
/** The loss curve keeps at most this many points; beyond, every other point is dropped. */
const MAX_LOSS_POINTS = 1000;
export const HEARTBEAT_MS = 5_000;

function trainerArgs(params: TrainParams): string[] {
  const flags: [string, number | undefined][] = [
    ["--epochs", params.epochs],
    ["--batch-size", params.batchSize],
    ["--lr", params.lr],
    ["--max-len", params.maxLen],
    ["--seed", params.seed],
    ["--max-steps", params.maxSteps],
  ];
  return flags.flatMap(([flag, v]) => (v === undefined ? [] : [flag, String(v)]));
}

/** A fresh snapshot of a kind's training data (classifier: labelled utterances; lm: approved answers). */
async function exportKindSnapshot(kind: ModelKind): Promise<string> {
  const dataDir = config().LOOPDESK_DATA_DIR;
  return (kind === "lm" ? await exportLmSnapshot({ dataDir }) : await exportSnapshot({ dataDir })).path;
}

/** Records a queued run on a snapshot of the data as it is now (or the given snapshot file). */
export async function createRun(opts: { kind?: ModelKind; snapshotPath?: string; device: Device; params: TrainParams; actor: string }) {
  const kind = opts.kind ?? "classifier";
  const snapshotPath = opts.snapshotPath ? path.resolve(opts.snapshotPath) : await exportKindSnapshot(kind);
  const snapshotSha256 = createHash("sha256").update(await readFile(snapshotPath)).digest("hex");
  const run = await runs.createRun({ kind, device: opts.device, params: opts.params, snapshotPath, snapshotSha256, createdBy: opts.actor });
  await audit(opts.actor, "training.queued", run.id, { kind, device: opts.device, params: opts.params, snapshotSha256 });
  return run;
}

/**
 * Executes a queued run. Claiming it is one conditional UPDATE, so a run cancelled while queued, or
 * delivered twice, never trains twice. `signal` (or a cancel request seen by the heartbeat) stops it.
 */
export async function executeRun(runId: string, opts: { onEvent?: (e: RunEvent) => void; signal?: AbortSignal } = {}) {
  const claim = await runs.claimRun(runId);
  if (!claim.claimed) return { run: claim.run, model: null };
  let run = claim.run;
  const params = run.params as TrainParams;
  const emit = (e: RunEvent) => {
    opts.onEvent?.(e);
    void publishRunEvent(e);
  };
  emit({ runId, type: "status", status: "running", error: null, modelVersion: null });

  const kind = run.kind;
  // A classifier version is named before training; an LM version by its ONNX file's sha256 (the trainer's
  // manifest), so it trains into a run folder that is renamed once the version is known.
  const outName = kind === "lm" ? `run-${run.id}` : `clf-${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${run.id.slice(0, 6)}`;
  const outDir = modelStorePath(path.join(/* turbopackIgnore: true */ VERSIONS_DIR[kind], outName));
  await mkdir(path.dirname(outDir), { recursive: true });
  const started = Date.now();
  let logs = "";
  const progress: RunProgress = { last: null, losses: [], evals: [] };
  const log = (line: string) => {
    logs = (logs + line + "\n").slice(-MAX_LOG_CHARS);
    emit({ runId, type: "log", line: line.slice(0, 2000) });
  };
  // Progress is written at most once a second: a run can print thousands of lines.
  let lastWrite = 0;
  // A database blip must not end the run (nor the worker): the next line saves again.
  const saveProgress = () => {
    if (Date.now() - lastWrite < 1000) return;
    lastWrite = Date.now();
    runs.saveRunProgress(runId, progress, logs).catch((err: unknown) => logger.warn({ err, runId }, "could not save the run's progress"));
  };

  const child = spawn(PYTHON, [...trainer(kind), "--data", run.snapshotPath, "--out", outDir, "--device", run.device, ...trainerArgs(params)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    child.kill("SIGTERM");
  };
  opts.signal?.addEventListener("abort", cancel, { once: true });
  // The heartbeat tells other workers this run is alive, and picks up cancel requests made anywhere.
  const heartbeat = setInterval(() => {
    void runs
      .beatRunHeartbeat(runId)
      .then((cancelRequested) => cancelRequested && !cancelled && cancel())
      .catch(() => {});
  }, HEARTBEAT_MS);

  createInterface({ input: child.stdout }).on("line", (line) => {
    const space = line.indexOf(" ");
    const [tag, json] = [line.slice(0, space), line.slice(space + 1)];
    // A line that does not parse (e.g. a NaN loss, written as null) is kept as a log line only.
    if (tag === "PROGRESS") {
      const p = parseTrainerLine(progressLineSchema, json);
      if (p) {
        const point: LossPoint = { x: p.epoch - 1 + p.step / p.steps, loss: p.loss };
        progress.last = p;
        progress.losses.push(point);
        if (progress.losses.length > MAX_LOSS_POINTS) progress.losses = progress.losses.filter((_, i) => i % 2 === 1);
        emit({ runId, type: "progress", progress: p, point });
      }
    } else if (tag === "EVAL") {
      const e = parseTrainerLine<EpochEval>(evalLineSchemas[kind], json);
      if (e) {
        progress.evals.push(e);
        emit({ runId, type: "eval", eval: e });
      }
    }
    log(line);
    saveProgress();
  });
  // tqdm redraws with carriage returns; only whole lines are worth keeping.
  createInterface({ input: child.stderr }).on("line", (line) => {
    const last = line.split("\r").at(-1)!.trim();
    if (last) log(last);
  });
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("error", (err) => {
      log(`could not start the trainer: ${err.message}`);
      resolve({ code: 127, signal: null });
    });
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  clearInterval(heartbeat);
  const durationMs = Date.now() - started;
  const finish = { logs, finishedAt: new Date(), durationMs, progress };

  let failure = trainerFailure(exit, logs);
  let model = null;
  let versionDir = outDir;
  if (!failure && !cancelled) {
    try {
      const registered = await (kind === "lm" ? registerLm(outDir, run) : registerClassifier(outDir, outName, run));
      versionDir = registered.dir;
      model = registered.model;
      run = await runs.finishRun(runId, { ...finish, status: "succeeded", metrics: registered.metrics, device: registered.metrics.device });
    } catch (err) {
      failure = `the trained model is unusable: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (!model) {
    // Nothing half-registered: a cancel that raced the trainer's last step leaves a finished folder, a
    // killed trainer its temporary one (the trainers write `.<name>.tmp-*` beside the output).
    const names = new Set([path.basename(outDir), path.basename(versionDir)]);
    const leftovers = (await readdir(path.dirname(outDir))).filter((f) => names.has(f) || [...names].some((n) => f.startsWith(`.${n}.tmp-`)));
    for (const f of leftovers) await rm(path.join(path.dirname(outDir), f), { recursive: true, force: true });
    const status = cancelled ? "cancelled" : "failed";
    const error = cancelled ? "cancelled" : failure!;
    run = await runs.finishRun(runId, { ...finish, status, error });
    await audit(run.cancelledBy ?? run.createdBy, `training.${status}`, runId, { error });
  } else {
    await audit(run.createdBy, "training.succeeded", runId, { kind, version: model.version });
  }
  metrics().trainingRuns.inc({ status: run.status });
  emit({ runId, type: "status", status: run.status, error: run.error, modelVersion: model?.version ?? null });
  return { run, model };
}

/** The JSON of a PROGRESS or EVAL line if it is valid and finite; null otherwise. */
function parseTrainerLine<T>(schema: z.ZodType<T>, json: string): T | null {
  try {
    const result = schema.safeParse(JSON.parse(json));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

type RunRow = Awaited<ReturnType<typeof runs.claimRun>>["run"];

/** Registers a trained classifier: the trainer checked its ONNX files; loading them as the server will catches a file damaged since. */
async function registerClassifier(dir: string, version: string, run: RunRow) {
  await loadClassifier(dir, version);
  const metrics = trainerMetricsSchema.parse(JSON.parse(await readFile(path.join(dir, "metrics.json"), "utf8")));
  const model = await registerModelVersion({ version, path: path.relative(modelStorePath("."), dir), metrics, datasetSha256: run.snapshotSha256, trainingRunId: run.id });
  return { dir, model, metrics };
}

/**
 * Registers a trained language model: the folder is renamed to `lm-versions/<version>` (the version from
 * its manifest), loaded and smoke-tested as a server would, and the reply benchmark's question set is
 * frozen beside it for the gate.
 */
async function registerLm(outDir: string, run: RunRow) {
  const version = await lmFolderVersion(outDir);
  const dir = path.join(path.dirname(outDir), version);
  await rm(dir, { recursive: true, force: true }); // an unregistered leftover of an interrupted registration
  await rename(outDir, dir);
  return registerLmFolder(dir, version, { datasetSha256: run.snapshotSha256, trainingRunId: run.id });
}

/**
 * `loopdesk models register DIR --kind lm`: a trainer output made elsewhere (a GPU machine runs
 * `python -m training.train_lm` on a snapshot, without the database) is copied into the model store
 * under `lm-versions/<version>` and registered as a candidate, checked as a run's output is.
 */
export async function registerTrainedLm(sourceDir: string) {
  const version = await lmFolderVersion(sourceDir);
  const dir = modelStorePath(path.join(VERSIONS_DIR.lm, version));
  const copying = `${dir}.tmp-${process.pid}`;
  await rm(copying, { recursive: true, force: true });
  await cp(path.resolve(sourceDir), copying, { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await rename(copying, dir);
  const { metrics } = await readLmFolder(dir);
  return registerLmFolder(dir, version, { datasetSha256: metrics.dataset_sha256 });
}

async function readLmFolder(dir: string) {
  const metrics = lmTrainerMetricsSchema.parse(JSON.parse(await readFile(path.join(dir, "metrics.json"), "utf8")));
  const { version } = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as { version: string };
  return { metrics, version };
}

/** The version a trainer output folder names, refused when it is malformed or registered already. */
async function lmFolderVersion(dir: string): Promise<string> {
  const { version } = await readLmFolder(dir);
  if (!/^lm-[0-9a-f]{12}$/.test(version)) throw new Error(`the trainer's manifest names version "${version}", not lm-<12 hex>`);
  if (await findModelVersion(version)) throw new Error(`${version} is registered already (the same model was trained before)`);
  return version;
}

async function registerLmFolder(dir: string, version: string, origin: { datasetSha256: string; trainingRunId?: string }) {
  try {
    const { metrics } = await readLmFolder(dir);
    const lm = await loadLanguageModel(dir);
    await lm.dispose();
    await freezeQuestions(dir);
    const model = await registerModelVersion({ version, kind: "lm", path: path.relative(modelStorePath("."), dir), metrics, ...origin });
    return { dir, model, metrics };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Why the trainer failed, for people; null when it exited cleanly. */
function trainerFailure(exit: { code: number | null; signal: NodeJS.Signals | null }, logs: string): string | null {
  if (exit.code === 0) return null;
  const tail = logs.trim().split("\n").slice(-5).join("\n");
  if (exit.signal === "SIGKILL") return `the trainer was killed (SIGKILL; the kernel does this when memory runs out)${tail ? `; last output:\n${tail}` : ""}`;
  if (exit.signal) return `the trainer was stopped by ${exit.signal}${tail ? `; last output:\n${tail}` : ""}`;
  return tail || `the trainer exited with code ${exit.code}`;
}

/** The CLI's run: create and execute in this process. */
export async function runTraining(opts: {
  kind?: ModelKind;
  snapshotPath?: string;
  device: Device;
  params: TrainParams;
  actor: string;
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
}) {
  const run = await createRun(opts);
  return executeRun(run.id, { onEvent: opts.onEvent, signal: opts.signal });
}
