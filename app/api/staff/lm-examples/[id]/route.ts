/**
 * PATCH /api/staff/lm-examples/[id] {answer}: edits a training example's answer (validated again);
 * DELETE removes it (204). Support staff; audited (lib/dataset/lm-labelling.ts).
 */
import { ApiError, json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { editExample, removeExample } from "@/lib/dataset/lm-labelling";
import { emitInboxChanged } from "@/lib/chat/broadcast";
import { lmExampleEditSchema, type LmExampleResponse } from "@/lib/protocol/staff";
import { idSchema } from "../../conversations/_shared";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ id: string }> };

async function exampleId(ctx: Ctx): Promise<string> {
  const { id } = await ctx.params;
  if (!idSchema.safeParse(id).success) throw new ApiError(404, "not_found", "No such training example.");
  return id;
}

export const PATCH = route(async (request: Request, ctx: Ctx) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const id = await exampleId(ctx);
  const { answer } = await readJson(request, lmExampleEditSchema);
  const { example, conversationId } = await editExample(id, answer, staff);
  emitInboxChanged(conversationId);
  return json({ example } satisfies LmExampleResponse);
});

export const DELETE = route(async (request: Request, ctx: Ctx) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const id = await exampleId(ctx);
  const { conversationId } = await removeExample(id, staff);
  emitInboxChanged(conversationId);
  return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
});
