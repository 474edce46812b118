/**
 * Training runs started from the console go through a pg-boss queue in PostgreSQL, so a queued run
 * outlives any process: the web server enqueues (enqueueRun), and a separate worker process
 * (worker.ts; in-process only on the embedded PGlite database, which one process owns) executes
 * them one at a time (the queue's `singleton` policy). The TrainingRun row is the record people
 * see; the job only carries its id.
 */
import PgBoss from "pg-boss";
import { config } from "../config";
import { ApiError } from "../http";
import { audit } from "../db/audit";
import { embeddedSqlExecutor } from "../db/client";
import { listen } from "../db/listen";
import { cancelQueuedRun, failStaleRuns, findRun, requestRunCancel, setJobId } from "../db/runs";
import { log } from "../log";
import { shared } from "../process";
import type { Device, ModelKind, TrainParams } from "../protocol/ml";
import { publishCancel, publishRunEvent, RUN_CANCEL_CHANNEL } from "./events";
import { createRun, executeRun, HEARTBEAT_MS } from "./run";

export const TRAINING_QUEUE = "training";
/** A running run whose heartbeat is older than this lost its worker. */
const STALE_AFTER_MS = 6 * HEARTBEAT_MS;

interface RunJob {
  runId: string;
}

/** The process's pg-boss client, started (schema created or migrated) on first use. */
export function trainingQueue(): Promise<PgBoss> {
  return shared("__loopdeskBoss", async () => {
    const url = config().DATABASE_URL;
    const boss = url ? new PgBoss({ connectionString: url, max: 3, application_name: "loopdesk-queue" }) : new PgBoss({ db: embeddedSqlExecutor() });
    boss.on("error", (err) => log.error({ err }, "job queue error"));
    await boss.start();
    // retryLimit 0: a failed run is recorded and left to people; it is never silently repeated.
    await boss.createQueue(TRAINING_QUEUE, { name: TRAINING_QUEUE, policy: "singleton", retryLimit: 0, expireInHours: 23 });
    return boss;
  });
}

export async function enqueueRun(opts: { kind?: ModelKind; device: Device; params: TrainParams; actor: string }) {
  const run = await createRun(opts);
  const boss = await trainingQueue();
  const jobId = await boss.send(TRAINING_QUEUE, { runId: run.id } satisfies RunJob);
  const queued = await setJobId(run.id, jobId);
  await publishRunEvent({ runId: run.id, type: "status", status: "queued", error: null, modelVersion: null });
  return queued;
}

/** A cancel the run's state does not allow: a 409 over HTTP. */
export class RunStateError extends ApiError {
  constructor(message: string) {
    super(409, "invalid_state", message);
  }
}

/**
 * Cancels a run: a queued one at once (one conditional UPDATE, so it can never also start), a
 * running one by asking its worker, which stops the trainer and records the run as cancelled.
 */
export async function cancelRun(runId: string, actor: string) {
  const cancelled = await cancelQueuedRun(runId, actor);
  if (cancelled) {
    if (cancelled.jobId) await (await trainingQueue()).cancel(TRAINING_QUEUE, cancelled.jobId);
    await audit(actor, "training.cancelled", runId, { while: "queued" });
    await publishRunEvent({ runId, type: "status", status: "cancelled", error: cancelled.error, modelVersion: null });
    return cancelled;
  }
  const running = await requestRunCancel(runId, actor);
  if (!running) {
    const run = await findRun(runId);
    throw new RunStateError(run ? `the run has already ${run.status === "succeeded" ? "succeeded" : `been ${run.status}`}` : "no such run");
  }
  await audit(actor, "training.cancel_requested", runId);
  await publishCancel(runId);
  return running;
}

/** Marks runs whose worker died (no heartbeat) as failed, and fails their jobs so the queue moves on. */
export async function failAbandonedRuns(): Promise<void> {
  for (const { run, error } of await failStaleRuns(STALE_AFTER_MS)) {
    if (run.jobId) await (await trainingQueue()).fail(TRAINING_QUEUE, run.jobId, { error }).catch(() => {});
    await audit("system", "training.failed", run.id, { error });
    await publishRunEvent({ runId: run.id, type: "status", status: "failed", error, modelVersion: null });
  }
}

/**
 * Starts executing queued runs in this process. Returns a stop function that cancels the run in
 * progress (recorded as cancelled by "system (worker stopped)") and stops taking jobs.
 */
export async function startTrainingWorker(): Promise<() => Promise<void>> {
  const boss = await trainingQueue();
  const running = new Map<string, AbortController>();
  let stopping = false;
  const unlisten = await listen(RUN_CANCEL_CHANNEL, (runId) => running.get(runId)?.abort());
  await failAbandonedRuns();
  const sweep = setInterval(() => void failAbandonedRuns().catch((err: unknown) => log.warn({ err }, "abandoned-run sweep failed")), STALE_AFTER_MS / 2);
  sweep.unref();

  await boss.work<RunJob>(TRAINING_QUEUE, { batchSize: 1, pollingIntervalSeconds: 2 }, async ([job]) => {
    if (!job || stopping) return;
    const { runId } = job.data;
    const controller = new AbortController();
    running.set(runId, controller);
    try {
      log.info({ runId }, "training run started");
      const { run } = await executeRun(runId, { signal: controller.signal });
      log.info({ runId, status: run.status }, "training run finished");
      // A failed run is recorded on its row; the job itself completes so the queue moves on.
    } finally {
      running.delete(runId);
    }
  });
  log.info("training worker waiting for runs");

  return async () => {
    stopping = true;
    clearInterval(sweep);
    for (const [runId, controller] of running) {
      await requestRunCancel(runId, "system (worker stopped)");
      controller.abort();
    }
    await boss.stop({ graceful: true, timeout: 20_000 });
    await unlisten();
  };
}
