import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { listOutboxEmails } from "@/lib/db/follow-up";
import { json, route } from "@/lib/http";

/** The newest emails written to the outbox (no SMTP_URL). */
export const GET = route(async (request) => {
  const staff = await requireStaff(request, AREA_ROLES.admin);
  if (staff instanceof Response) return staff;
  return json({ emails: await listOutboxEmails() });
});
