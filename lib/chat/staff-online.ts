/**
 * Who can take a chat now: staff with the console open (a /staff socket on any instance; fetchSockets
 * asks the others through the adapter) who have set themselves online. An agent who left without
 * setting "away" gets no chats, and a handoff is told honestly when nobody can join.
 */
import type { Server } from "socket.io";
import type { StaffIdentity } from "../auth/roles";
import { anyAssignableOnline } from "../db/assignment";
import { log } from "../log";
import { STAFF_NAMESPACE } from "../protocol/staff";

/** The staff ids with a /staff socket open on any instance. */
export async function connectedStaff(io: Server): Promise<string[]> {
  const sockets = await io.of(STAFF_NAMESPACE).fetchSockets();
  const ids = sockets.flatMap((s) => {
    const staff = (s.data as { staff?: StaffIdentity }).staff;
    return staff ? [staff.id] : [];
  });
  return [...new Set(ids)];
}

/** Whether an enabled agent or admin is online with the console open; false when an instance cannot be asked (the customer is then offered email). */
export async function anyAgentOnline(io: Server): Promise<boolean> {
  try {
    return await anyAssignableOnline(await connectedStaff(io));
  } catch (err) {
    log.warn({ err }, "could not ask every instance for its staff sockets");
    return false;
  }
}
