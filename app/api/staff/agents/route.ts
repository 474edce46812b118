/** GET /api/staff/agents: the support staff a conversation can be assigned to, online first, with their open chats. */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { listAssignableStaff } from "@/lib/db/assignment";
import { json, route } from "@/lib/http";
import type { AssignableAgent } from "@/lib/protocol/staff";

export const dynamic = "force-dynamic";

export const GET = route(async (request: Request) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  return json({ agents: (await listAssignableStaff()) satisfies AssignableAgent[] });
});
