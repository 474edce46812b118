/**
 * The TrainingRun state machine: queued → running → succeeded | failed | cancelled, each move one
 * conditional UPDATE (as `transition` does for conversations), so a run cancelled while queued never
 * starts, a run delivered twice never trains twice, and a finished run is never failed by a sweep.
 */
import type { Prisma, TrainingRun } from "../generated/prisma/client";
import type { Device, LmTrainerMetrics, ModelKind, RunProgress, TrainerMetrics, TrainParams } from "../protocol/ml";
import { db } from "./client";
import { retryWhileDatabaseUnavailable } from "./retry";

export async function findRun(runId: string): Promise<TrainingRun | null> {
  return db().trainingRun.findUnique({ where: { id: runId } });
}

/** Records a queued run on a snapshot file. */
export async function createRun(data: { kind: ModelKind; device: Device; params: TrainParams; snapshotPath: string; snapshotSha256: string; createdBy: string }) {
  return db().trainingRun.create({ data: { ...data, status: "queued", params: data.params as Prisma.InputJsonValue } });
}

/** The queue's job carrying the run. */
export async function setJobId(runId: string, jobId: string | null): Promise<TrainingRun> {
  return db().trainingRun.update({ where: { id: runId }, data: { jobId } });
}

/** Moves a queued run to running; `claimed` is false (and the run as it is) when it was not queued. */
export async function claimRun(runId: string): Promise<{ claimed: boolean; run: TrainingRun }> {
  const { count } = await db().trainingRun.updateMany({
    where: { id: runId, status: "queued" },
    data: { status: "running", startedAt: new Date(), heartbeatAt: new Date() },
  });
  return { claimed: count === 1, run: await db().trainingRun.findUniqueOrThrow({ where: { id: runId } }) };
}

/** Stores a running run's progress and logs so far; also its heartbeat. */
export async function saveRunProgress(runId: string, progress: RunProgress, logs: string): Promise<void> {
  await db().trainingRun.update({ where: { id: runId }, data: { progress: progress as unknown as Prisma.InputJsonValue, logs, heartbeatAt: new Date() } });
}

/** The heartbeat of a running run; returns whether someone asked to cancel it meanwhile. */
export async function beatRunHeartbeat(runId: string): Promise<boolean> {
  const run = await db().trainingRun.update({ where: { id: runId }, data: { heartbeatAt: new Date() }, select: { cancelRequestedAt: true } });
  return run.cancelRequestedAt !== null;
}

export interface RunOutcome {
  status: "succeeded" | "failed" | "cancelled";
  logs: string;
  progress: RunProgress;
  finishedAt: Date;
  durationMs: number;
  error?: string;
  metrics?: TrainerMetrics | LmTrainerMetrics;
  device?: string;
}

/** Records how a run its worker executed ended; waits out a database blip, since the outcome must not be lost. */
export async function finishRun(runId: string, outcome: RunOutcome): Promise<TrainingRun> {
  const json = (value: unknown) => value as Prisma.InputJsonValue;
  return retryWhileDatabaseUnavailable("finish training run", () =>
    db().trainingRun.update({ where: { id: runId }, data: { ...outcome, progress: json(outcome.progress), metrics: json(outcome.metrics) } }),
  );
}

/** Cancels a run that is still queued; null when it was not (it started, or already ended). */
export async function cancelQueuedRun(runId: string, actor: string): Promise<TrainingRun | null> {
  const now = new Date();
  const { count } = await db().trainingRun.updateMany({
    where: { id: runId, status: "queued" },
    data: { status: "cancelled", error: "cancelled before it started", finishedAt: now, cancelRequestedAt: now, cancelledBy: actor },
  });
  return count === 1 ? db().trainingRun.findUniqueOrThrow({ where: { id: runId } }) : null;
}

/** Asks the worker executing a running run to stop it (its heartbeat sees this); null when it is not running. */
export async function requestRunCancel(runId: string, actor: string): Promise<TrainingRun | null> {
  const { count } = await db().trainingRun.updateMany({ where: { id: runId, status: "running" }, data: { cancelRequestedAt: new Date(), cancelledBy: actor } });
  return count === 1 ? db().trainingRun.findUniqueOrThrow({ where: { id: runId } }) : null;
}

/** Fails the running runs whose heartbeat is older than `staleMs` (their worker died); returns them, with the error recorded. */
export async function failStaleRuns(staleMs: number): Promise<{ run: TrainingRun; error: string }[]> {
  const stale = await db().trainingRun.findMany({ where: { status: "running", heartbeatAt: { lt: new Date(Date.now() - staleMs) } } });
  const failed: { run: TrainingRun; error: string }[] = [];
  for (const run of stale) {
    const error = `the worker executing this run stopped (killed or crashed); last heard from at ${run.heartbeatAt?.toISOString()}`;
    // The condition again: the run may have finished since it was read.
    const { count } = await db().trainingRun.updateMany({ where: { id: run.id, status: "running" }, data: { status: "failed", error, finishedAt: new Date() } });
    if (count === 1) failed.push({ run, error });
  }
  return failed;
}
