/** One article: its text and version history (GET), or a new version of it (PUT, with expectedVersion). */
import { json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { articleForEditor, articleSaveSchema, parseSlug, saveArticleVersion } from "@/lib/knowledge/editor";

type Params = { params: Promise<{ slug: string }> };

export const GET = route(async (request, { params }: Params) => {
  const staff = await requireStaff(request, AREA_ROLES.knowledge);
  if (staff instanceof Response) return staff;
  return json(await articleForEditor(parseSlug((await params).slug)));
});

export const PUT = route(async (request, { params }: Params) => {
  const staff = await requireStaff(request, AREA_ROLES.knowledge);
  if (staff instanceof Response) return staff;
  const slug = parseSlug((await params).slug);
  await saveArticleVersion(staff, slug, await readJson(request, articleSaveSchema));
  return json(await articleForEditor(slug));
});
