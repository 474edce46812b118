/**
 * Helpers shared by the inbox's route handlers (conversations, queue, review, messages). The query
 * schemas are part of the staff contract, in lib/protocol/staff.ts.
 */
import type { Server } from "socket.io";
import { z } from "zod";
import { ApiError } from "@/lib/http";
import { log } from "@/lib/log";
import { INBOX_ROOM, STAFF_NAMESPACE } from "@/lib/protocol/staff";

/**
 * Nudges every open inbox to refetch a conversation's row. server.ts exposes its socket.io server
 * on globalThis (route handlers are a separate module copy); without one (e.g. `next dev`) there
 * is nobody to tell.
 */
export function emitInboxChanged(conversationId: string): void {
  const io = (globalThis as { __loopdeskIo?: Server }).__loopdeskIo;
  if (!io) return;
  try {
    io.of(STAFF_NAMESPACE).to(INBOX_ROOM).emit("inbox:changed", { conversationId });
  } catch (err) {
    log.warn({ err }, "inbox:changed not sent");
  }
}

/** The search params as an object, empty values dropped (an empty form field means "any"). */
export function searchParamsObject(url: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URL(url).searchParams) if (v.trim() !== "") out[k] = v;
  return out;
}

/** Validates the query; throws a 400 ApiError naming the first bad parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, url: string): z.output<S> {
  const parsed = schema.safeParse(searchParamsObject(url));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  throw new ApiError(400, "invalid_query", `${where}${issue?.message ?? "invalid query"}`);
}

export const idSchema = z.string().uuid();
