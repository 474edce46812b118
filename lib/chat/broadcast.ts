/**
 * Where chat events go: the customer's tabs (namespace /chat, room customer:<id>) and the staff
 * watching the conversation (namespace /staff, room conversation:<id>), and a nudge to every staff
 * inbox. Rooms, not sockets, so with socket.io's Redis adapter any instance reaches everyone.
 */
import type { Namespace, Server } from "socket.io";
import { log } from "../log";
import { shared } from "../process";
import { CHAT_NAMESPACE, customerRoom, type ServerToClientEvents } from "../protocol/chat";
import { conversationRoom, INBOX_ROOM, STAFF_NAMESPACE } from "../protocol/staff";

export type ConversationEmitter = <E extends keyof ServerToClientEvents>(event: E, payload: Parameters<ServerToClientEvents[E]>[0]) => void;

export function conversationEmitter(io: Server, customerId: string, conversationId: string): ConversationEmitter {
  return (event, payload) => {
    io.of(CHAT_NAMESPACE).to(customerRoom(customerId)).emit(event, payload);
    io.of(STAFF_NAMESPACE).to(conversationRoom(conversationId)).emit(event, payload);
    // Tokens are too frequent for the inbox; everything else may change its row.
    if (event !== "chat:token") io.of(STAFF_NAMESPACE).to(INBOX_ROOM).emit("inbox:changed", { conversationId });
  };
}

/**
 * Tells the other server instances (through the adapter) about something only one of them can act
 * on, e.g. stopping a reply it generates. The default in-memory adapter has no others to tell.
 */
export function tellOtherInstances(nsp: Namespace, event: string, payload: string): void {
  if (nsp.adapter.constructor.name !== "Adapter") nsp.serverSideEmit(event, payload);
}

/** The process's socket.io server, for code outside the socket handlers (route handlers); server.ts sets it. */
const socketServer = shared("__loopdeskIo", () => ({ server: null as Server | null }));

export function setSocketServer(io: Server): void {
  socketServer.server = io;
}

/** The process's socket.io server; null where there is none (`next dev`). */
export function currentSocketServer(): Server | null {
  return socketServer.server;
}

/**
 * Nudges every open inbox to refetch a conversation's row, from a route handler. Without a socket.io
 * server in the process (e.g. `next dev`) there is nobody to tell.
 */
export function emitInboxChanged(conversationId: string): void {
  const io = currentSocketServer();
  if (!io) return;
  try {
    io.of(STAFF_NAMESPACE).to(INBOX_ROOM).emit("inbox:changed", { conversationId });
  } catch (err) {
    log.warn({ err }, "inbox:changed not sent");
  }
}
