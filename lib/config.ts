/** Server configuration, read once from the environment and validated. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

const int = (def: number) => z.coerce.number().int().positive().default(def);

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: int(3000),
  HOST: z.string().default("0.0.0.0"),
  /** Postgres URL; when absent the embedded PGlite database under LOOPDESK_DATA_DIR is used. */
  DATABASE_URL: z.string().url().optional(),
  LOOPDESK_DATA_DIR: z.string().default("./data"),
  LOOPDESK_MODELS_DIR: z.string().default("./models"),
  /** HMAC key for customer tokens. Several instances behind a load balancer must share it. */
  CUSTOMER_TOKEN_SECRET: z.string().min(32).optional(),
  LM_MAX_NEW_TOKENS: int(96),
  /** Generations running at once; more wait in a FIFO queue and see a "typing" state. */
  LM_CONCURRENCY: int(2),
  /** Token budget for the conversation history put into the prompt. */
  LM_HISTORY_TOKENS: int(768),
  /** Generations allowed to wait; beyond this a customer gets a retryable `busy` error. */
  LM_QUEUE_LIMIT: int(200),
  /** Below this probability the classifier's intent counts as unsure. */
  INTENT_THRESHOLD: z.coerce.number().min(0).max(1).default(0.45),
  /** Per-intent overrides as JSON, e.g. {"complaint":0.6}. */
  INTENT_THRESHOLDS: z
    .string()
    .default("{}")
    .transform((s, ctx) => {
      const r = z.record(z.string(), z.number().min(0).max(1)).safeParse(safeJson(s));
      if (!r.success) ctx.addIssue({ code: "custom", message: "must be a JSON object of intent: probability" });
      return r.success ? r.data : {};
    }),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Config = z.infer<typeof schema> & {
  customerTokenSecret: string;
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
  return {
    ...env,
    customerTokenSecret: env.CUSTOMER_TOKEN_SECRET ?? localSecret(env.LOOPDESK_DATA_DIR),
    intentThresholds: { global: env.INTENT_THRESHOLD, perIntent: env.INTENT_THRESHOLDS },
  };
}

/**
 * With no secret in the environment (a laptop demo), one is generated once and kept in the data
 * folder so customer tokens stay valid across restarts. Production sets CUSTOMER_TOKEN_SECRET.
 */
function localSecret(dataDir: string): string {
  const file = path.join(dataDir, "customer-token.secret");
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
