/**
 * The ML console's socket.io namespace `/ml`: ML staff watch training runs live. The worker publishes
 * run events with NOTIFY (lib/training/events.ts); each server relays them to its own sockets in the
 * run's room, so with several instances every event still reaches each watcher exactly once.
 */
import type { Namespace, Server, Socket } from "socket.io";
import { AREA_ROLES } from "../auth/roles";
import { getRun } from "../db/ml-console";
import { log } from "../log";
import { ML_EVENTS, ML_NAMESPACE, ML_RUNS_ROOM, runRoom, watchRunSchema, type MlToServerEvents, type ServerToMlEvents } from "../protocol/ml";
import { subscribeRunEvents } from "../training/events";
import { guarded, guardEvents } from "./guarded";
import { authenticateStaff, endSession, requireStaffSockets } from "./staff-auth";
import { ErrorCode, parsePayload } from "../protocol/errors";

const DENIED = "Your role may not use the ML console.";

export async function attachMlNamespace(io: Server): Promise<void> {
  const nsp = io.of(ML_NAMESPACE) as Namespace<MlToServerEvents, ServerToMlEvents>;
  requireStaffSockets(nsp, AREA_ROLES.ml, DENIED);

  nsp.on("connection", (socket: Socket<MlToServerEvents, ServerToMlEvents>) => {
    void socket.join(ML_RUNS_ROOM);
    guardEvents(socket as never, ML_EVENTS);
    socket.on("run:watch", (payload, ack) => {
      void guarded(socket as never, ack, async (reply) => {
        const v = await authenticateStaff(socket.handshake.headers.cookie, AREA_ROLES.ml, DENIED);
        if (!v.ok) {
          reply({ ok: false, error: v.error });
          return endSession(socket, v.error);
        }
        const parsed = parsePayload(watchRunSchema, payload);
        if (!parsed.ok) return reply(parsed);
        // Join first, then read: an event between the two is seen twice at worst, never missed.
        await socket.join(runRoom(parsed.value.runId));
        const run = await getRun(parsed.value.runId);
        if (!run) {
          await socket.leave(runRoom(parsed.value.runId));
          return reply({ ok: false, error: { code: ErrorCode.invalidPayload, message: "No such training run." } });
        }
        reply({ ok: true, run });
      });
    });
    socket.on("run:unwatch", (payload) => {
      const parsed = parsePayload(watchRunSchema, payload);
      if (parsed.ok) void socket.leave(runRoom(parsed.value.runId));
    });
  });

  await subscribeRunEvents((event) => {
    // `local`: every instance receives the NOTIFY itself, so none may forward it to the others.
    nsp.local.to(runRoom(event.runId)).emit("run:event", event);
    if (event.type === "status") nsp.local.to(ML_RUNS_ROOM).emit("runs:changed");
  }).catch((err: unknown) => log.error({ err }, "training events unavailable: run pages will not update live"));
}
