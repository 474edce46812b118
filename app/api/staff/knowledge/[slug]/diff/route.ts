/** What changed between two versions of an article: ?from=N&to=M (default: `to`'s previous version). */
import { z } from "zod";
import { ApiError, issuesMessage, json, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { parseSlug, versionDiff } from "@/lib/knowledge/editor";

type Params = { params: Promise<{ slug: string }> };

const versionNumber = z.coerce.number().int().min(1);
const querySchema = z.object({ from: versionNumber.optional(), to: versionNumber });

export const GET = route(async (request, { params }: Params) => {
  const staff = await requireStaff(request, AREA_ROLES.knowledge);
  if (staff instanceof Response) return staff;
  const slug = parseSlug((await params).slug);
  const parsed = querySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) throw new ApiError(400, "invalid_query", issuesMessage(parsed.error));
  const { to, from = to - 1 } = parsed.data;
  return json(await versionDiff(slug, from, to));
});
