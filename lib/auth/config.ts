/** Staff-auth settings, read once from the environment and validated like lib/config.ts. */
import { z } from "zod";

const positive = (def: number) => z.coerce.number().int().positive().default(def);

const schema = z.object({
  /** auto: Secure cookie only when the request arrived over https (directly or via X-Forwarded-Proto). */
  STAFF_COOKIE_SECURE: z.enum(["auto", "true", "false"]).default("auto"),
  /** Absolute session lifetime. */
  STAFF_SESSION_HOURS: positive(12),
  /** A session unused this long is over. */
  STAFF_SESSION_IDLE_MINUTES: positive(60),
  /** Failed logins in a row that lock an account… */
  STAFF_LOCKOUT_ATTEMPTS: positive(5),
  /** …and for how long. */
  STAFF_LOCKOUT_MINUTES: positive(15),
  /** Login attempts allowed per client address, and per email (known or not), in each window… */
  LOGIN_ATTEMPTS_PER_ADDRESS: positive(20),
  LOGIN_ATTEMPTS_PER_ACCOUNT: positive(10),
  /** …of this length. */
  LOGIN_THROTTLE_MINUTES: positive(15),
});

export type AuthConfig = z.infer<typeof schema>;

let cached: AuthConfig | undefined;
export function authConfig(): AuthConfig {
  if (!cached) {
    const parsed = schema.safeParse(process.env);
    if (!parsed.success) {
      throw new Error(`Invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    cached = parsed.data;
  }
  return cached;
}
