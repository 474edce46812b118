/** Helpers shared by the inbox's route handlers (conversations, queue, review, messages). */
import { z } from "zod";
import { errorResponse, route } from "@/lib/auth/http";
import { InboxError, MAX_PAGE_SIZE, type InboxFilters } from "@/lib/db/inbox";

/** Like lib/auth/http's `route`, and an InboxError becomes its `{ error: { code, message } }`. */
export function inboxRoute<Ctx>(handler: (request: Request, ctx: Ctx) => Promise<Response>) {
  return route<Ctx>(async (request, ctx) => {
    try {
      return await handler(request, ctx);
    } catch (err) {
      if (err instanceof InboxError) return errorResponse(err.status, err.code, err.message);
      throw err;
    }
  });
}

export function json(body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store" } });
}

const STATUSES = ["bot", "waiting_for_agent", "agent", "closed"] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

const date = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be a date (YYYY-MM-DD) or an ISO date-time");
const probability = z.coerce.number().min(0).max(1);

export const listQuerySchema = z
  .object({
    status: z
      .string()
      .max(100)
      .transform((s) => [...new Set(s.split(",").map((x) => x.trim()).filter(Boolean))])
      .pipe(z.array(z.enum(STATUSES)).max(STATUSES.length)),
    intent: z.string().max(100),
    minConfidence: probability,
    maxConfidence: probability,
    from: date,
    to: date,
    hasCorrection: z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
    q: z.string().max(200),
    cursor: z.string().max(400),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE),
  })
  .partial()
  .refine((v) => v.minConfidence === undefined || v.maxConfidence === undefined || v.minConfidence <= v.maxConfidence, {
    message: "minConfidence must not exceed maxConfidence",
    path: ["minConfidence"],
  });

export type ListQuery = z.output<typeof listQuerySchema>;

/** The search params as an object, empty values dropped (an empty form field means "any"). */
export function searchParamsObject(url: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URL(url).searchParams) if (v.trim() !== "") out[k] = v;
  return out;
}

/** Validates the query; throws a 400 InboxError naming the first bad parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, url: string): z.output<S> {
  const parsed = schema.safeParse(searchParamsObject(url));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  throw new InboxError(400, "invalid_query", `${where}${issue?.message ?? "invalid query"}`);
}

/** A day (YYYY-MM-DD, UTC) as `to` means through the end of that day. */
export function toFilters(q: ListQuery): InboxFilters {
  return {
    status: q.status?.length ? q.status : undefined,
    intent: q.intent?.trim() || undefined,
    minConfidence: q.minConfidence,
    maxConfidence: q.maxConfidence,
    from: q.from ? new Date(DAY.test(q.from) ? `${q.from}T00:00:00Z` : q.from) : undefined,
    to: q.to ? (DAY.test(q.to) ? new Date(Date.parse(`${q.to}T00:00:00Z`) + 86_400_000) : new Date(q.to)) : undefined,
    hasCorrection: q.hasCorrection,
    q: q.q?.trim() || undefined,
  };
}

export const pageQuerySchema = z
  .object({ cursor: z.string().max(400), limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE) })
  .partial();

export const idSchema = z.string().uuid();
