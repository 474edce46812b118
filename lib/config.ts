/** Server configuration, read once from the environment and validated. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_INTENT_THRESHOLD } from "./chat/decide";
import { log } from "./log";

const int = (def: number) => z.coerce.number().int().positive().default(def);

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** 0 = any free port (the tests use it; the port is logged and, to a parent with an IPC channel, sent). */
  PORT: z.coerce.number().int().min(0).default(3000),
  HOST: z.string().default("0.0.0.0"),
  /** Postgres URL; when absent the embedded PGlite database under LOOPDESK_DATA_DIR is used. */
  DATABASE_URL: z.string().url().optional(),
  LOOPDESK_DATA_DIR: z.string().default("./data"),
  LOOPDESK_MODELS_DIR: z.string().default("./models"),
  /** HMAC key for customer tokens. Several instances behind a load balancer must share it. */
  CUSTOMER_TOKEN_SECRET: z.string().min(32).optional(),
  /** Earlier secrets, comma-separated: their tokens stay valid and are re-issued under the current one. */
  CUSTOMER_TOKEN_PREVIOUS_SECRETS: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(32, "each previous secret must be at least 32 characters"))),
  /** Redis: when set, socket.io instances share rooms and rate limits hold across instances. */
  REDIS_URL: z.string().url().optional(),
  /**
   * Prefix of every Redis key and channel this deployment uses (rate-limit counters, socket.io's adapter):
   * instances share limits and rooms only with the same prefix, so two deployments (or test runs) can share one Redis.
   */
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "1-64 letters, digits, _ . : -").default("loopdesk"),
  /** Rate limits: each allows so many events per window (seconds); beyond it the client gets `rate_limited`. */
  RATE_LIMIT_WINDOW_SECONDS: int(60),
  RATE_LIMIT_MESSAGES_PER_CUSTOMER: int(20),
  RATE_LIMIT_MESSAGES_PER_IP: int(60),
  RATE_LIMIT_CONNECTIONS_PER_IP: int(30),
  /** Open socket.io connections (every namespace, every transport) one address may hold at once. */
  SOCKETS_PER_ADDRESS: int(20),
  /** Each socket's token bucket for every event it sends: this many at once, refilled at EVENTS_PER_SECOND. */
  SOCKET_EVENT_BURST: int(30),
  SOCKET_EVENTS_PER_SECOND: int(5),
  /** Messages in the last `chat:history` page, and the most one page may ask for. */
  HISTORY_PAGE_SIZE: int(50),
  /** A conversation stops taking customer messages at this many messages (`conversation_full`). */
  MAX_CONVERSATION_MESSAGES: int(1000),
  /** Who may frame the widget page `/widget`: a CSP source list, e.g. "https://shop.example https://*.shop.example"; unset = any site. */
  WIDGET_FRAME_ANCESTORS: z
    .string()
    .regex(/^[^;,\r\n]*$/, "a space-separated CSP source list (no ; or ,)")
    .optional(),
  /** Replies generated (or waiting in the shared queue) at once for one customer; later ones wait their turn. */
  GENERATIONS_PER_CUSTOMER: int(1),
  /**
   * Acknowledged messages still waiting for their answer, per customer and per address (an IPv6 /64
   * counts as one); beyond either, a message is refused with `busy` before it is stored.
   */
  PENDING_TURNS_PER_CUSTOMER: int(3),
  PENDING_TURNS_PER_ADDRESS: int(6),
  LM_MAX_NEW_TOKENS: int(96),
  /**
   * Replies generated at once, decoded together in one batch (lib/models/decoder.ts); more wait in a
   * FIFO queue and see a "typing" state. 2 measured best for bench:load's first-token p99 on 2 cores
   * (README, "Batched decoding").
   */
  LM_BATCH_SIZE: int(2),
  /** Token budget for the conversation history put into the prompt. */
  LM_HISTORY_TOKENS: int(768),
  /** Acknowledged messages waiting for their answer in this process; beyond this a message is refused with `busy`. */
  LM_QUEUE_LIMIT: int(200),
  /**
   * Degrade, don't queue: when a reply's expected wait for a generation slot passes this many
   * milliseconds, it quotes its retrieved facts at once instead of waiting for the model; 0 = never.
   */
  LM_DEGRADE_WAIT_MS: z.coerce.number().int().min(0).default(2000),
  /**
   * The niceness the language model's own process runs at (lib/models/lm-process.ts): above 0, the
   * server's acknowledgements, database writes and HTTP get the cores first when generation keeps them busy.
   */
  LM_PROCESS_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /**
   * Below this probability the classifier's intent counts as unsure, for a model version without thresholds
   * fitted on its validation data (calibration.json); a version with them uses its own.
   */
  INTENT_THRESHOLD: z.coerce.number().min(0).max(1).default(DEFAULT_INTENT_THRESHOLD),
  /** Per-intent overrides as JSON, e.g. {"complaint":0.6}; they win over a model version's fitted ones. */
  INTENT_THRESHOLDS: z
    .string()
    .default("{}")
    .transform((s, ctx) => {
      const r = z.record(z.string(), z.number().min(0).max(1)).safeParse(safeJson(s));
      if (!r.success) ctx.addIssue({ code: "custom", message: "must be a JSON object of intent: probability" });
      return r.success ? r.data : {};
    }),
  /** Prometheus metrics are served on this port (GET /metrics), never on PORT; unset = not served, 0 = any free port. */
  METRICS_PORT: z.coerce.number().int().min(0).optional(),
  /** The metrics port's address: loopback by default, so only this machine (or a sidecar) can scrape it. */
  METRICS_HOST: z.string().default("127.0.0.1"),
  /**
   * SMTP server for follow-up emails, e.g. smtp://user:pass@mail.example:587 (smtps:// for TLS); unset = emails
   * are written to the outbox table and shown on the admin page.
   */
  SMTP_URL: z.string().url().refine((u) => /^smtps?:$/.test(new URL(u).protocol), "an smtp:// or smtps:// URL").optional(),
  /** The From of follow-up emails. */
  MAIL_FROM: z
    .string()
    .regex(/^[^\r\n]+$/, "one line")
    .default("Northwind Goods support <support@localhost>"),
  /** The site's public address, the base of links in emails; unset = http://localhost:PORT. */
  PUBLIC_URL: z.string().url().optional(),
  /** How long the link in a follow-up email opens its conversation. */
  FOLLOW_UP_LINK_DAYS: int(14),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema> & {
  /** Signs new tokens; the previous secrets only verify. */
  customerTokenSecret: string;
  customerTokenSecrets: string[];
  intentThresholds: { global: number; perIntent: Record<string, number> };
};

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function loadConfig(): Config {
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${issues}`);
  }
  const env = parsed.data;
  const customerTokenSecret = env.CUSTOMER_TOKEN_SECRET ?? localSecret(env.LOOPDESK_DATA_DIR, env.NODE_ENV);
  return {
    ...env,
    customerTokenSecret,
    customerTokenSecrets: [customerTokenSecret, ...env.CUSTOMER_TOKEN_PREVIOUS_SECRETS],
    intentThresholds: { global: env.INTENT_THRESHOLD, perIntent: env.INTENT_THRESHOLDS },
  };
}

/**
 * With no secret in the environment (a laptop demo), one is generated once and kept in the data
 * folder so customer tokens stay valid across restarts. Production sets CUSTOMER_TOKEN_SECRET; `npm start`
 * on a fresh machine runs in production mode without it, so this warns instead of refusing to start.
 */
function localSecret(dataDir: string, nodeEnv: string): string {
  const file = path.join(dataDir, "customer-token.secret");
  if (nodeEnv === "production") {
    log.warn({ file }, "CUSTOMER_TOKEN_SECRET is not set: using a secret kept in the data folder; set it in the environment (the same on every instance)");
  }
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("hex");
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

let cached: Config | undefined;
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
