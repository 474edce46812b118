/** POST /api/staff/messages/[id]/feedback {feedback: "good" | "bad"}: staff's verdict on a bot reply. */
import { z } from "zod";
import { ApiError, json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { setReplyFeedback } from "@/lib/db/inbox";
import { emitInboxChanged, idSchema } from "../../../conversations/_shared";

export const dynamic = "force-dynamic";

const bodySchema = z.object({ feedback: z.enum(["good", "bad"]) });

export const POST = route(async (request: Request, ctx: { params: Promise<{ id: string }> }) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const { id } = await ctx.params;
  if (!idSchema.safeParse(id).success) throw new ApiError(404, "not_found", "No such message.");
  const { feedback } = await readJson(request, bodySchema);
  const message = await setReplyFeedback(id, feedback, staff);
  emitInboxChanged(message.conversationId);
  return json({ message });
});
