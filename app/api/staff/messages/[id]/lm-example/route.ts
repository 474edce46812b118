/**
 * POST /api/staff/messages/[id]/lm-example {answer?}: makes a language-model training example of a bot
 * reply marked Bad (with the right answer) or of an agent's own reply ("use for training"). 201 with
 * the example; 400 `invalid_example` naming what makes it unusable (lib/dataset/lm-labelling.ts).
 */
import { ApiError, json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { saveExampleFromMessage } from "@/lib/dataset/lm-labelling";
import { emitInboxChanged } from "@/lib/chat/broadcast";
import { lmExampleSaveSchema, type LmExampleResponse } from "@/lib/protocol/staff";
import { idSchema } from "../../../conversations/_shared";

export const dynamic = "force-dynamic";

export const POST = route(async (request: Request, ctx: { params: Promise<{ id: string }> }) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const { id } = await ctx.params;
  if (!idSchema.safeParse(id).success) throw new ApiError(404, "not_found", "No such message.");
  const { answer } = await readJson(request, lmExampleSaveSchema);
  const { example, conversationId } = await saveExampleFromMessage(id, answer, staff);
  emitInboxChanged(conversationId);
  return json({ example } satisfies LmExampleResponse, 201);
});
