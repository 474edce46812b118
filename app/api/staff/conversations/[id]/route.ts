/**
 * GET /api/staff/conversations/[id]: a conversation with the newest page of its transcript (or with
 * `?before=<olderCursor>` the page before), and the intents staff may label with.
 */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { conversationDetail, intentLabels } from "@/lib/db/inbox";
import { ApiError, json, route } from "@/lib/http";
import { idSchema } from "../_shared";

export const dynamic = "force-dynamic";

export const GET = route(async (request: Request, ctx: { params: Promise<{ id: string }> }) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const { id } = await ctx.params;
  const before = new URL(request.url).searchParams.get("before") ?? undefined;
  const conversation = idSchema.safeParse(id).success ? await conversationDetail(id, { before }) : null;
  if (!conversation) throw new ApiError(404, "not_found", "No such conversation.");
  return json({ conversation, labels: await intentLabels() });
});
