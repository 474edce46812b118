/**
 * POST /api/ml/shadow/queue/:messageId/label { intent }: staff's intent for a message production and
 * the shadow disagree on. Stored as the staff console stores a label (lib/db/inbox.ts `labelMessage`),
 * so it becomes training data the same way; the message leaves the queue.
 */
import { z } from "zod";
import { emitInboxChanged } from "@/lib/chat/broadcast";
import { labelMessage } from "@/lib/db/inbox";
import { ApiError } from "@/lib/http";
import { shadowLabelSchema } from "@/lib/protocol/ml";
import { json, mlRoute, readJson } from "../../../../_shared";

export const dynamic = "force-dynamic";

export const POST = mlRoute(async (request, staff, ctx: { params: Promise<{ messageId: string }> }) => {
  const { messageId } = await ctx.params;
  if (!z.string().uuid().safeParse(messageId).success) throw new ApiError(404, "not_found", "No such message.");
  const { intent } = await readJson(request, shadowLabelSchema);
  const message = await labelMessage(messageId, intent, staff.email);
  emitInboxChanged(message.conversationId);
  return json({ messageId, intent });
});
