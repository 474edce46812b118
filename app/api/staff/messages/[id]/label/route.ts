/**
 * POST /api/staff/messages/[id]/label {intent}: confirms (intent = the predicted one) or corrects a
 * customer message's intent. Stored with who and when; the newest label becomes training data.
 */
import { z } from "zod";
import { ApiError, json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { labelMessage } from "@/lib/db/inbox";
import { emitInboxChanged, idSchema } from "../../../conversations/_shared";

export const dynamic = "force-dynamic";

const bodySchema = z.object({ intent: z.string().trim().min(1).max(100) });

export const POST = route(async (request: Request, ctx: { params: Promise<{ id: string }> }) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const { id } = await ctx.params;
  if (!idSchema.safeParse(id).success) throw new ApiError(404, "not_found", "No such message.");
  const { intent } = await readJson(request, bodySchema);
  const message = await labelMessage(id, intent, staff);
  emitInboxChanged(message.conversationId);
  return json({ message });
});
