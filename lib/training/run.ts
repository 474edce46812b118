/**
 * A fine-tuning run: snapshot the labelled data, run the Python trainer (training/train.py) as a
 * child process, record progress and logs on the TrainingRun row, and register the result as a
 * candidate model version. The trainer writes its output atomically, so a failed or cancelled run
 * registers nothing.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { z } from "zod";
import { config } from "../config";
import { db } from "../db/client";
import { audit, registerModelVersion } from "../db/ml";
import { seedDatabase } from "../db/seed";
import { exportSnapshot } from "../dataset/export";
import { modelStorePath } from "../models/registry";
import type { Prisma } from "../generated/prisma/client";

export const trainParamsSchema = z
  .object({
    epochs: z.number().int().min(1).max(50).optional(),
    batchSize: z.number().int().min(1).max(512).optional(),
    lr: z.number().positive().max(1).optional(),
    maxLen: z.number().int().min(8).max(512).optional(),
    seed: z.number().int().min(0).optional(),
  })
  .strict();
export type TrainParams = z.infer<typeof trainParamsSchema>;
export type Device = "auto" | "cpu" | "cuda";

export interface Progress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  eta_s: number;
}
export interface EpochEval {
  epoch: number;
  holdout_accuracy: number;
  holdout_macro_f1: number;
}
export type RunEvent = { type: "progress"; progress: Progress } | { type: "eval"; eval: EpochEval } | { type: "log"; line: string };

const PYTHON = path.resolve(".venv/bin/python");
const MAX_LOG_CHARS = 200_000;

function trainerArgs(params: TrainParams): string[] {
  const flags: [string, number | undefined][] = [
    ["--epochs", params.epochs],
    ["--batch-size", params.batchSize],
    ["--lr", params.lr],
    ["--max-len", params.maxLen],
    ["--seed", params.seed],
  ];
  return flags.flatMap(([flag, v]) => (v === undefined ? [] : [flag, String(v)]));
}

export async function runTraining(opts: {
  snapshotPath?: string;
  device: Device;
  params: TrainParams;
  actor: string;
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
}) {
  await seedDatabase();
  const snapshotPath = opts.snapshotPath
    ? path.resolve(opts.snapshotPath)
    : (await exportSnapshot({ dataDir: config().LOOPDESK_DATA_DIR })).path;
  const snapshotSha256 = createHash("sha256").update(await readFile(snapshotPath)).digest("hex");
  const prisma = db();
  let run = await prisma.trainingRun.create({
    data: {
      status: "running",
      device: opts.device,
      params: opts.params as Prisma.InputJsonValue,
      snapshotPath,
      snapshotSha256,
      createdBy: opts.actor,
      startedAt: new Date(),
    },
  });
  await audit(opts.actor, "training.start", run.id, { device: opts.device, params: opts.params, snapshotSha256 });

  const version = `clf-${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${run.id.slice(0, 6)}`;
  const relativeDir = path.join("classifier", version);
  const outDir = modelStorePath(relativeDir);
  const started = Date.now();
  let logs = "";
  let lastProgress: Progress | null = null;
  const evals: EpochEval[] = [];
  const log = (line: string) => {
    logs = (logs + line + "\n").slice(-MAX_LOG_CHARS);
    opts.onEvent?.({ type: "log", line });
  };
  // Progress is written at most once a second: a run can print thousands of lines.
  let lastWrite = 0;
  const saveProgress = async (force = false) => {
    if (!force && Date.now() - lastWrite < 1000) return;
    lastWrite = Date.now();
    await prisma.trainingRun.update({
      where: { id: run.id },
      data: { progress: { last: lastProgress, evals } as unknown as Prisma.InputJsonValue, logs },
    });
  };

  const child = spawn(PYTHON, ["-m", "training.train", "--data", snapshotPath, "--out", outDir, "--device", opts.device, ...trainerArgs(opts.params)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  opts.signal?.addEventListener("abort", () => child.kill("SIGTERM"), { once: true });
  const stdout = createInterface({ input: child.stdout });
  stdout.on("line", (line) => {
    const [kind, json] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)];
    if (kind === "PROGRESS") {
      lastProgress = JSON.parse(json) as Progress;
      opts.onEvent?.({ type: "progress", progress: lastProgress });
    } else if (kind === "EVAL") {
      const e = JSON.parse(json) as EpochEval;
      evals.push(e);
      opts.onEvent?.({ type: "eval", eval: e });
    }
    log(line);
    void saveProgress();
  });
  // tqdm redraws with carriage returns; only whole lines are worth keeping.
  createInterface({ input: child.stderr }).on("line", (line) => {
    const last = line.split("\r").at(-1)!.trim();
    if (last) log(last);
  });
  const exitCode = await new Promise<number>((resolve) => child.on("close", (code, sig) => resolve(code ?? (sig ? 143 : 1))));
  const durationMs = Date.now() - started;

  if (exitCode !== 0) {
    const cancelled = opts.signal?.aborted ?? false;
    const error = cancelled ? "cancelled" : logs.trim().split("\n").slice(-5).join("\n") || `trainer exited with ${exitCode}`;
    run = await prisma.trainingRun.update({
      where: { id: run.id },
      data: { status: cancelled ? "cancelled" : "failed", error, logs, finishedAt: new Date(), durationMs, progress: { last: lastProgress, evals } as unknown as Prisma.InputJsonValue },
    });
    await audit(opts.actor, cancelled ? "training.cancelled" : "training.failed", run.id, { error });
    return { run, model: null };
  }

  const metrics = JSON.parse(await readFile(path.join(outDir, "metrics.json"), "utf8")) as { device?: string };
  const model = await registerModelVersion({ version, path: relativeDir, metrics, datasetSha256: snapshotSha256, trainingRunId: run.id });
  run = await prisma.trainingRun.update({
    where: { id: run.id },
    data: {
      status: "succeeded",
      metrics,
      logs,
      device: metrics.device ?? opts.device,
      finishedAt: new Date(),
      durationMs,
      progress: { last: lastProgress, evals } as unknown as Prisma.InputJsonValue,
    },
  });
  await audit(opts.actor, "training.succeeded", run.id, { version });
  return { run, model };
}
