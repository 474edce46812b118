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

/**
 * A question to every instance through the adapter (fetchSockets); null when it could not be answered
 * (with Redis, an instance that does not answer in time), and the caller picks the safe side.
 */
export async function askCluster<T>(question: Promise<T>): Promise<T | null> {
  try {
    return await question;
  } catch (err) {
    log.warn({ err }, "could not ask every instance for its sockets");
    return null;
  }
}

/**
 * Whether an enabled agent or admin is online with the console open, given `connectedStaff`'s answer;
 * false when it could not be told (the customer is then offered email).
 */
export async function anyAgentOnline(connected: string[] | null): Promise<boolean> {
  return connected !== null && (await anyAssignableOnline(connected));
}
