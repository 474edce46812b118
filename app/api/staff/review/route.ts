/**
 * GET /api/staff/review?cursor&limit: customer messages nobody has reviewed, smallest margin
 * between the classifier's top two intents first. The first page also carries the backlog size
 * and the intents to label with.
 */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { intentLabels, reviewBacklog, reviewQueue } from "@/lib/db/inbox";
import { json, route } from "@/lib/http";
import { pageQuerySchema } from "@/lib/protocol/staff";
import { parseQuery } from "../conversations/_shared";

export const dynamic = "force-dynamic";

export const GET = route(async (request: Request) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const { cursor, limit } = parseQuery(pageQuerySchema, request.url);
  const [page, extra] = await Promise.all([
    reviewQueue(cursor, limit),
    cursor ? null : Promise.all([reviewBacklog(), intentLabels()]).then(([backlog, labels]) => ({ backlog, labels })),
  ]);
  return json({ ...page, ...extra });
});
