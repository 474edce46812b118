/**
 * Prometheus metrics through the real server on a database of its own: a question over /chat moves
 * the time-to-first-token histogram, the reply outcome and decision counters, the customer feedback
 * counter and the socket gauge on METRICS_PORT; the public port does not serve /metrics.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectCustomer, sendAndWait } from "../helpers/chat-client";
import { sample } from "../helpers/metrics";
import { createMigratedDatabase } from "../helpers/postgres";
import { startServer, type RunningServer } from "../helpers/server";

let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
let server: RunningServer;
let metricsUrl: string;

beforeAll(async () => {
  database = await createMigratedDatabase("metrics_test");
  server = await startServer({
    DATABASE_URL: database.url,
    LOOPDESK_MODELS_DIR: inject("modelsDir"),
    LM_MAX_NEW_TOKENS: "16",
    CUSTOMER_TOKEN_SECRET: "metrics-secret-metrics-secret-metrics-01",
    METRICS_PORT: "0",
  });
  metricsUrl = `http://127.0.0.1:${server.metricsPort}/metrics`;
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  return res.text();
}

describe("metrics", () => {
  it("counts a question's reply, its speed, its decision, its rating and the customer's socket", async () => {
    const before = await scrape();
    expect(sample(before, "loopdesk_socket_connections", 'namespace="/chat"')).toBe(0);
    expect(sample(before, "process_cpu_user_seconds_total")).toBeGreaterThan(0); // Node's default metrics

    const { socket } = await connectCustomer(server.url);
    try {
      const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "How long do refunds take after I send something back?" });
      if (!r.ack.ok) throw new Error("send failed");
      expect(await socket.emitWithAck("chat:feedback", { messageId: r.messageId, helpful: true })).toMatchObject({ ok: true });

      const after = await scrape();
      expect(sample(after, "loopdesk_socket_connections", 'namespace="/chat"')).toBe(1);
      expect(sample(after, "loopdesk_lm_time_to_first_token_seconds_count")).toBe(sample(before, "loopdesk_lm_time_to_first_token_seconds_count") + 1);
      expect(sample(after, "loopdesk_lm_tokens_per_second_count")).toBe(1);
      expect(sample(after, "loopdesk_bot_replies_total", 'outcome="complete"')).toBe(1);
      expect(sample(after, "loopdesk_reply_decisions_total", 'decision="answer"')).toBe(1);
      const checks = ["model_sentences", "replaced_by_facts"].map((result) => sample(after, "loopdesk_grounded_reply_checks_total", `result="${result}"`));
      expect(checks[0]! + checks[1]!).toBe(1);
      expect(sample(after, "loopdesk_classifier_latency_seconds_count")).toBe(1);
      expect(sample(after, "loopdesk_generation_queue_wait_seconds_count")).toBe(1);
      expect(sample(after, "loopdesk_customer_feedback_total", 'rating="up"')).toBe(1);
      expect(sample(after, "loopdesk_listener_up", 'channel="loopdesk_deployments"')).toBe(1);
      expect(sample(after, "loopdesk_model_swaps_total", 'kind="knowledge"')).toBeGreaterThanOrEqual(1);
    } finally {
      socket.disconnect();
    }
    await expect.poll(async () => sample(await scrape(), "loopdesk_socket_connections", 'namespace="/chat"')).toBe(0);
  });

  it("serves nothing else on the metrics port, and no /metrics on the public port", async () => {
    expect((await fetch(metricsUrl.replace("/metrics", "/"))).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });
});
