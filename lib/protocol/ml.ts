/**
 * The ML console's contract: what the `/ml` socket.io namespace sends, and the shapes the ML pages and
 * `/api/ml/*` routes exchange. Plain types and constants, shared by the server, the worker, the
 * browser and the tests.
 */
import { z } from "zod";

export const ML_NAMESPACE = "/ml";
/** The room every ML socket is in: run list changes go there. */
export const ML_RUNS_ROOM = "ml:runs";
export const runRoom = (runId: string) => `ml:run:${runId}`;

export const DEVICES = ["auto", "cpu", "cuda"] as const;
export type Device = (typeof DEVICES)[number];

/** What a model version is: the intent classifier or the language model that writes replies. */
export const MODEL_KINDS = ["classifier", "lm"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINISHED_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];

/** Hyper-parameters a run may set; the trainer's defaults apply to the rest. */
export const trainParamsSchema = z
  .object({
    epochs: z.number().int().min(1).max(50).optional(),
    batchSize: z.number().int().min(1).max(512).optional(),
    lr: z.number().positive().max(1).optional(),
    maxLen: z.number().int().min(8).max(512).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    /** LM runs: stop after this many optimiser steps (short runs, tests). */
    maxSteps: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();
export type TrainParams = z.infer<typeof trainParamsSchema>;

/**
 * The trainer's `metrics.json` (training/train.py), as far as the product reads it: parsed once, when a
 * version is registered, so a version in the registry always has these. Other keys are kept as they are.
 */
export const trainerMetricsSchema = z
  .object({
    accuracy: z.number(),
    macro_f1: z.number(),
    labels: z.array(z.string()).min(1),
    device: z.string(),
    train_seconds: z.number().nullish(),
    /** Versions trained since issue 15: temperature scaling and out-of-scope thresholds fitted on validation rows. */
    calibration: z
      .object({
        temperature: z.number(),
        ece_before: z.number(),
        ece_after: z.number(),
        ece_measured_on: z.string(),
        fitted_on: z.string(),
        n_fitted: z.number(),
        oos: z.object({ method: z.string().nullable() }).passthrough(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
export type TrainerMetrics = z.infer<typeof trainerMetricsSchema>;

/**
 * The LM trainer's `metrics.json` (training/train_lm.py, issue 12's contract), as far as the product
 * reads it: held-out loss and perplexity of the fine-tuned model and of its base on the same holdout.
 */
export const lmTrainerMetricsSchema = z
  .object({
    kind: z.literal("lm"),
    dataset_sha256: z.string(),
    examples: z.object({ train: z.number().int(), holdout: z.number().int() }),
    device: z.string(),
    method: z.string(),
    seconds: z.number(),
    train_loss: z.number().nullable(),
    holdout_loss: z.number().nullable(),
    holdout_perplexity: z.number().nullable(),
    base_holdout_loss: z.number().nullable(),
    base_holdout_perplexity: z.number().nullable(),
  })
  .passthrough();
export type LmTrainerMetrics = z.infer<typeof lmTrainerMetricsSchema>;

/** Parameters only the LM trainer takes. */
export const LM_ONLY_PARAMS = ["maxSteps"] as const satisfies readonly (keyof TrainParams)[];

export const startRunSchema = z
  .object({ kind: z.enum(MODEL_KINDS).default("classifier"), device: z.enum(DEVICES).default("auto"), params: trainParamsSchema.default({}) })
  .strict()
  .superRefine((v, ctx) => {
    if (v.kind === "lm") return;
    for (const name of LM_ONLY_PARAMS) {
      if (v.params[name] !== undefined) ctx.addIssue({ code: "custom", path: ["params", name], message: `${name} is a language-model training parameter` });
    }
  });
export type StartRunRequest = z.input<typeof startRunSchema>;

/** The trainers' PROGRESS line (both kinds). */
export const progressLineSchema = z
  .object({
    epoch: z.number().int().min(1),
    epochs: z.number().int().min(1),
    step: z.number().int().min(0),
    steps: z.number().int().min(1),
    loss: z.number(),
    eta_s: z.number(),
  })
  .passthrough();
export type Progress = z.infer<typeof progressLineSchema>;

/** The classifier trainer's EVAL line, one per epoch. */
export const classifierEvalSchema = z
  .object({ epoch: z.number().int().min(1), holdout_accuracy: z.number(), holdout_macro_f1: z.number(), holdout_loss: z.number().optional() })
  .passthrough();
/** The LM trainer's EVAL line, one per epoch (epoch 0: the base model before training): a language model has no accuracy, only held-out loss and perplexity. */
export const lmEvalSchema = z.object({ epoch: z.number().int().min(0), holdout_loss: z.number(), holdout_perplexity: z.number() }).passthrough();
export type ClassifierEpochEval = z.infer<typeof classifierEvalSchema>;
export type LmEpochEval = z.infer<typeof lmEvalSchema>;
export type EpochEval = ClassifierEpochEval | LmEpochEval;
export const evalLineSchemas = { classifier: classifierEvalSchema, lm: lmEvalSchema } as const satisfies Record<ModelKind, z.ZodType>;
export const isLmEval = (e: EpochEval): e is LmEpochEval => "holdout_perplexity" in e && !("holdout_accuracy" in e);
/** One point of the training-loss curve; `x` is in epochs (1.5 = half-way through epoch 2). */
export interface LossPoint {
  x: number;
  loss: number;
}

/** What is stored in TrainingRun.progress and drawn on the run page. */
export interface RunProgress {
  last: Progress | null;
  losses: LossPoint[];
  evals: EpochEval[];
}

/** A training run as the console shows it. `logs` only in the single-run view. */
export interface RunView {
  id: string;
  kind: ModelKind;
  status: RunStatus;
  device: string;
  params: TrainParams;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  progress: RunProgress;
  /** Holdout metrics from the trainer (classifier: accuracy, macro_f1 …; LM: holdout_loss, holdout_perplexity …) once succeeded. */
  metrics: Record<string, unknown> | null;
  /** The candidate version the run registered, once succeeded. */
  modelVersion: string | null;
  cancelRequested: boolean;
  logs?: string;
}

/** Live run events: the worker publishes them, the server relays them to the run's room. */
export type RunEvent =
  | { runId: string; type: "progress"; progress: Progress; point: LossPoint }
  | { runId: string; type: "eval"; eval: EpochEval }
  | { runId: string; type: "log"; line: string }
  | { runId: string; type: "status"; status: RunStatus; error: string | null; modelVersion: string | null };

export interface ServerToMlEvents {
  "run:event": (event: RunEvent) => void;
  /** Something about the list of runs changed (a run was queued, started or finished). */
  "runs:changed": () => void;
}

export type WatchAck = { ok: true; run: RunView } | { ok: false; error: { code: string; message: string } };
export interface MlToServerEvents {
  /** Join a run's room; the ack carries its current state so nothing between load and join is missed. */
  "run:watch": (payload: { runId: string }, ack: (r: WatchAck) => void) => void;
  "run:unwatch": (payload: { runId: string }) => void;
}
/** Every client → server event of `/ml`; anything else is answered `unknown_event`. */
export const ML_EVENTS = ["run:watch", "run:unwatch"] as const satisfies readonly (keyof MlToServerEvents)[];
export const watchRunSchema = z.object({ runId: z.string().uuid() }).strict();

/** A classifier version as the console lists it. */
export interface ModelView {
  version: string;
  status: "ready" | "failed";
  failureReason: string | null;
  createdAt: string;
  accuracy: number | null;
  macroF1: number | null;
  device: string | null;
  trainingRunId: string | null;
  production: boolean;
  /** Temperature scaling and the out-of-scope method, for versions that fitted them (training/calibration.py). */
  calibration: ModelCalibration | null;
}

export interface ModelCalibration {
  temperature: number;
  /** Expected calibration error on the holdout before and after temperature scaling. */
  eceBefore: number;
  eceAfter: number;
  /** Which rows the temperature and thresholds were fitted on ("validation", or "holdout" for a snapshot without a validation split) and how many. */
  fittedOn: string;
  nFitted: number;
  /** The out-of-scope method chosen on those rows (null: no out-of-scope rows to fit on). */
  oosMethod: string | null;
}

export interface Confusion {
  labels: string[];
  /** Rows are true labels, columns predictions. */
  matrix: number[][];
}

/** Candidate against production on the candidate's frozen holdout. */
export interface Comparison {
  candidate: string;
  production: string;
  verdict: {
    pass: boolean;
    reasons: string[];
    candidate: { accuracy: number; macroF1: number };
    production: { accuracy: number; macroF1: number };
    macroF1Delta: number;
    perIntent: { intent: string; support: number; candidate: number; production: number; delta: number; regression: boolean }[];
    holdoutSize: number;
  };
  candidateConfusion: Confusion;
  productionConfusion: Confusion;
}

/** The reply benchmark's figures for one model over a question set (bench:replies and the LM gate). */
export interface ReplyBenchFigures {
  replies: number;
  /** Fractions of the replies. */
  pass: number;
  facts: number;
  /** Counts of replies. */
  contradictions: number;
  invented: number;
  repetitive: number;
  cutOff: number;
  abstained: number;
}

/** The LM gate's verdict: candidate against production on the candidate's frozen question set. */
export interface LmGateVerdict {
  pass: boolean;
  reasons: string[];
  candidate: { version: string; bench: ReplyBenchFigures; holdoutPerplexity: number | null };
  production: { version: string; bench: ReplyBenchFigures; holdoutPerplexity: number | null };
  questions: number;
  questionsSha256: string;
  /** Holdout examples the perplexities were computed on (the candidate's snapshot). */
  holdoutExamples: number;
}

/** One judged reply, as the side-by-side page shows it. */
export interface JudgedReply {
  text: string;
  pass: boolean;
  facts: boolean;
  contradictions: string[];
  invented: string[];
  repetitive: string | null;
  cutOff: boolean;
  abstained: boolean;
  reasons: string[];
}

/** A stored gate run: the verdict and, per question, both models' replies. */
export interface LmGateReportView {
  id: string;
  candidate: string;
  production: string;
  createdAt: string;
  createdBy: string;
  verdict: LmGateVerdict;
  replies: { id: string; text: string; intent: string; expect: string; production: JudgedReply; candidate: JudgedReply }[];
}

/** A language-model version as the console lists it. */
export interface LmModelView {
  version: string;
  status: "ready" | "failed";
  failureReason: string | null;
  createdAt: string;
  trainingRunId: string | null;
  production: boolean;
  /** From the trainer (null for the stock model). */
  trainer: { holdoutPerplexity: number | null; baseHoldoutPerplexity: number | null; device: string; seconds: number; examples: { train: number; holdout: number } } | null;
  /** The newest gate run of this version as a candidate (null if the gate never ran on it). */
  gate: { production: string; pass: boolean; verdict: LmGateVerdict; createdAt: string } | null;
}

export const promoteSchema = z
  .object({ kind: z.enum(MODEL_KINDS).default("classifier"), force: z.boolean().default(false), reason: z.string().trim().max(500).optional() })
  .strict()
  .refine((v) => !v.force || (v.reason?.length ?? 0) > 0, { message: "Overriding the gate needs a reason, which is recorded.", path: ["reason"] });
/** POST /api/ml/shadow: put this classifier version in shadow (DELETE turns shadowing off). */
export const shadowSchema = z.object({ version: z.string().trim().min(1).max(100) }).strict();
/** POST /api/ml/shadow/queue/:messageId/label: staff's intent for a message the two versions disagree on. */
export const shadowLabelSchema = z.object({ intent: z.string().trim().min(1).max(100) }).strict();

/** A production intent the shadow version disagrees on, and what it says most often instead. */
export interface ShadowIntentDisagreement {
  intent: string;
  messages: number;
  disagreements: number;
  rate: number;
  shadowSays: string | null;
}

/** A shadow version's live figures against production, over every message it classified. */
export interface ShadowStats {
  version: string;
  messages: number;
  agreements: number;
  /** Null before the first message. */
  agreement: number | null;
  /** The intents with the most disagreements, most first. */
  disagreeing: ShadowIntentDisagreement[];
  /** Disagreements staff have labelled, and whose side the label took. */
  labelled: { disagreements: number; shadowRight: number; productionRight: number };
}

/** A live message the two versions disagree on, waiting for a staff label. */
export interface ShadowQueueItem {
  messageId: string;
  conversationId: string;
  text: string;
  productionIntent: string;
  productionProbability: number;
  shadowIntent: string;
  shadowProbability: number;
  createdAt: string;
}

/** GET /api/ml/shadow: what is shadowed now, its figures and the labelling queue (null when nothing is). */
export interface ShadowView {
  shadow: { version: string; since: string; actor: string; production: string | null; stats: ShadowStats; queue: ShadowQueueItem[]; intents: string[] } | null;
}

export const rollbackSchema = z.object({ kind: z.enum(MODEL_KINDS).default("classifier"), reason: z.string().trim().max(500).optional() }).strict();

export interface AuditEntry {
  id: string;
  actor: string;
  action: string;
  subject: string;
  details: unknown;
  createdAt: string;
}

export interface DatasetIntent {
  intent: string;
  seed: number;
  import: number;
  staff: number;
  total: number;
}
export type DatasetWarningCode = "too_few_examples" | "conflicting_labels" | "never_predicted";
export interface DatasetWarning {
  code: DatasetWarningCode;
  intent: string | null;
  message: string;
}
export interface DatasetSummary {
  intents: DatasetIntent[];
  totals: { seed: number; import: number; staff: number; total: number };
  warnings: DatasetWarning[];
}

export const PRODUCTION_WINDOWS = { day: 24 * 3600_000, week: 7 * 24 * 3600_000 } as const;
export type ProductionWindow = keyof typeof PRODUCTION_WINDOWS;

/** What production saw in a time window, from logged messages: drift at a glance. */
export interface ProductionStats {
  window: ProductionWindow;
  since: string;
  customerMessages: number;
  intents: { intent: string; count: number; meanConfidence: number }[];
  meanConfidence: number | null;
  conversations: number;
  handedOver: number;
  handoffRate: number | null;
  botReplies: number;
  badReplies: number;
  badReplyShare: number | null;
  /** Bot replies customers rated 👍 / 👎 ("Did this answer your question?"), and their shares of all bot replies. */
  helpfulReplies: number;
  helpfulReplyShare: number | null;
  unhelpfulReplies: number;
  unhelpfulReplyShare: number | null;
}
