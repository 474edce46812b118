/**
 * Prometheus metrics for the process: one registry (with Node's default metrics) and the app's
 * metrics, kept once per process in lib/process.ts like the other singletons, since server.ts and
 * Next's route bundle would otherwise register every metric twice. Served, never publicly, on
 * METRICS_PORT by serveMetrics(); each metric is listed in the README's "Metrics" section.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Server } from "socket.io";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { generationQueue } from "./chat/generation-queue";
import { config } from "./config";
import { log } from "./log";
import { shared } from "./process";
import { CHAT_NAMESPACE } from "./protocol/chat";
import { ML_NAMESPACE } from "./protocol/ml";
import { STAFF_NAMESPACE } from "./protocol/staff";
import type { GroundedReply } from "./chat/grounded-reply";

/** The socket.io namespaces counted by `loopdesk_socket_connections`. */
const NAMESPACES = [CHAT_NAMESPACE, STAFF_NAMESPACE, ML_NAMESPACE];

function makeMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const histogram = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, buckets, registers });
  const counter = <Label extends string>(name: string, help: string, label: Label) => new Counter({ name, help, labelNames: [label], registers });
  // The socket server whose connections are counted at each scrape (set by watchSockets).
  const watched = { io: null as Server | null };
  return {
    registry,
    watched,
    timeToFirstToken: histogram(
      "loopdesk_lm_time_to_first_token_seconds",
      "Time from the start of a language-model generation to its first token",
      [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
    ),
    tokensPerSecond: histogram("loopdesk_lm_tokens_per_second", "Tokens per second of a language-model reply", [1, 2, 5, 10, 20, 40, 80, 160]),
    queueDepth: new Gauge({
      name: "loopdesk_generation_queue_depth",
      help: "Generations in the shared queue, by state (waiting, running)",
      labelNames: ["state"],
      registers,
      collect() {
        this.set({ state: "waiting" }, generationQueue().size);
        this.set({ state: "running" }, generationQueue().pending);
      },
    }),
    queueWait: histogram(
      "loopdesk_generation_queue_wait_seconds",
      "Time a generation waited for its turn (the customer's queue, then the shared one)",
      [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    ),
    classifierLatency: histogram("loopdesk_classifier_latency_seconds", "Time to classify one customer message", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]),
    replies: counter("loopdesk_bot_replies_total", "Language-model replies finished, by outcome (complete, stopped, failed, interrupted)", "outcome"),
    replyChecks: counter(
      "loopdesk_grounded_reply_checks_total",
      "How a grounded reply ended: model_sentences sent, replaced_by_facts (quoted help-centre facts), or quoted_under_load (quoted without the model: generation was too far off)",
      "result",
    ),
    decisions: counter("loopdesk_reply_decisions_total", "Bot replies by decision (answer, answer_degraded, small_talk, clarify, offer_human_*, handoff_*, no_facts)", "decision"),
    feedback: counter("loopdesk_customer_feedback_total", "Customer ratings of bot replies, by rating (up, down)", "rating"),
    sockets: new Gauge({
      name: "loopdesk_socket_connections",
      help: "Open socket.io connections, by namespace",
      labelNames: ["namespace"],
      registers,
      collect() {
        for (const namespace of NAMESPACES) this.set({ namespace }, watched.io?.of(namespace).sockets.size ?? 0);
      },
    }),
    modelSwaps: counter("loopdesk_model_swaps_total", "Model swaps done (the first load included), by kind (classifier, lm, knowledge, shadow)", "kind"),
    modelSwapFailures: counter("loopdesk_model_swap_failures_total", "Model swaps that failed (the current model kept serving), by kind (classifier, lm, knowledge, shadow)", "kind"),
    shadowPredictions: counter(
      "loopdesk_shadow_predictions_total",
      "Customer messages the shadow classifier saw, by result (agree, disagree with production; skipped: too many waiting; failed)",
      "result",
    ),
    trainingRuns: counter("loopdesk_training_runs_total", "Training runs finished by this process, by final status (succeeded, failed, cancelled)", "status"),
    listenerUp: new Gauge({
      name: "loopdesk_listener_up",
      help: "1 while the LISTEN connection for a channel (model deployments, knowledge changes) is connected, else 0",
      labelNames: ["channel"],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof makeMetrics>;

/** The process's metrics. */
export function metrics(): Metrics {
  return shared("__loopdeskMetrics", makeMetrics);
}

/** Records a finished language-model reply: its speed, its outcome and how its check ended. */
export function recordLmReply(result: GroundedReply): void {
  const m = metrics();
  if (result.timeToFirstTokenMs !== null) m.timeToFirstToken.observe(result.timeToFirstTokenMs / 1000);
  if (result.tokenCount > 0 && result.generationMs > 0) m.tokensPerSecond.observe(result.tokenCount / (result.generationMs / 1000));
  m.replies.inc({ outcome: result.stopped ? "stopped" : "complete" });
  m.replyChecks.inc({ result: result.check.replaced ? "replaced_by_facts" : "model_sentences" });
}

/** Reports a LISTEN connection's state as `loopdesk_listener_up{channel}`. */
export function listenerState(channel: string): (up: boolean) => void {
  return (up) => metrics().listenerUp.set({ channel }, up ? 1 : 0);
}

/** Counts the sockets of each namespace at every scrape. */
export function watchSockets(io: Server): void {
  metrics().watched.io = io;
}

/** Serves the metrics in Prometheus text format on METRICS_HOST:METRICS_PORT; does nothing when the port is unset. */
export function serveMetrics(): () => void {
  const { METRICS_PORT: port, METRICS_HOST: host } = config();
  if (port === undefined) return () => {};
  const registry = metrics().registry;
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, "could not collect metrics");
        res.writeHead(500).end();
      },
    );
  });
  server.listen(port, host, () => {
    const bound = (server.address() as AddressInfo).port;
    log.info({ port: bound, host }, "metrics listening");
    process.send?.({ metricsPort: bound });
  });
  return () => server.close();
}
