/**
 * GET /api/staff/availability: the caller's own availability (online/away).
 * PUT /api/staff/availability `{ availability }`: sets it; coming online takes the waiting queue's
 * conversations (lib/db/assignment.ts shares them among the online agents).
 */
import { AREA_ROLES, requireStaff } from "@/lib/auth/session";
import { currentSocketServer } from "@/lib/chat/broadcast";
import { assignWaiting } from "@/lib/chat/handover";
import { availabilityOf, setAvailability } from "@/lib/db/assignment";
import { ApiError, json, readJson, route } from "@/lib/http";
import { log } from "@/lib/log";
import { availabilitySchema, type AvailabilityBody } from "@/lib/protocol/staff";

export const dynamic = "force-dynamic";

const gone = () => new ApiError(401, "unauthenticated", "Log in as staff first.");

export const GET = route(async (request: Request) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const availability = await availabilityOf(staff.id);
  if (!availability) throw gone();
  return json({ availability } satisfies AvailabilityBody);
});

export const PUT = route(async (request: Request) => {
  const staff = await requireStaff(request, AREA_ROLES.support);
  if (staff instanceof Response) return staff;
  const body = await readJson(request, availabilitySchema);
  const availability = await setAvailability(staff.id, body.availability);
  if (!availability) throw gone();
  // Without a socket.io server in the process (`next dev`) the next handoff assigns the queue instead;
  // so does it when this assignment fails: the availability is stored either way.
  const io = currentSocketServer();
  if (availability === "online" && io) await assignWaiting(io).catch((err: unknown) => log.warn({ err }, "queue not assigned on coming online"));
  return json({ availability } satisfies AvailabilityBody);
});
