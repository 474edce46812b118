/** GET /api/staff/queue: conversations waiting for an agent, the longest waiting first. */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { waitingQueue } from "@/lib/db/inbox";
import { json, route } from "@/lib/http";

export const dynamic = "force-dynamic";

export const GET = route(async (request: Request) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  return json({ items: await waitingQueue() });
});
