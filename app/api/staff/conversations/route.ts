/** GET /api/staff/conversations: the inbox, newest activity first, filtered and keyset-paged. */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { listConversations } from "@/lib/db/inbox";
import { json, route } from "@/lib/http";
import { listQuerySchema, toFilters } from "@/lib/protocol/staff";
import { parseQuery } from "./_shared";

export const dynamic = "force-dynamic";

export const GET = route(async (request: Request) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const query = parseQuery(listQuerySchema, request.url);
  return json(await listConversations(toFilters(query), query.cursor, query.limit));
});
