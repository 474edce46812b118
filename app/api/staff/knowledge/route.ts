/** The knowledge base for editors and admins: list every article (retired ones marked), create one. */
import { json, readJson, route } from "@/lib/http";
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { articleForEditor, createArticle, listArticles, newArticleSchema } from "@/lib/knowledge/editor";

export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.knowledge);
  if (staff instanceof Response) return staff;
  return json({ articles: await listArticles() });
});

export const POST = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.knowledge);
  if (staff instanceof Response) return staff;
  const { slug } = await createArticle(staff, await readJson(request, newArticleSchema));
  return json(await articleForEditor(slug), 201);
});
