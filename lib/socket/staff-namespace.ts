/**
 * The staff socket.io namespace `/staff`: agents (and admins) watch live conversations, take them
 * over, chat with the customer, hand back to the bot and close. Sessions are checked as in
 * lib/socket/staff-auth.ts.
 */
import type { Namespace, Server, Socket } from "socket.io";
import { AREA_ROLES, type StaffIdentity } from "../auth/roles";
import { assignWaiting, close, handBack, reassign, sendAgentMessage, staffState, STOP_CONVERSATION_EVENT, takeOver } from "../chat/handover";
import { availabilityOf } from "../db/assignment";
import { stopConversationReplies } from "../chat/replies";
import { findConversationForStaff } from "../db/handover";
import { addNote, MAX_NOTES_PER_CONVERSATION, type AddNoteResult } from "../db/notes";
import { log } from "../log";
import { guarded, guardEvents } from "./guarded";
import { authenticateStaff, endSession, requireStaffSockets } from "./staff-auth";
import { ErrorCode, parsePayload, type ChatError } from "../protocol/errors";
import { CHAT_NAMESPACE, customerRoom, validateText, type ServerToClientEvents } from "../protocol/chat";
import {
  conversationRoom,
  INBOX_ROOM,
  STAFF_EVENTS,
  STAFF_NAMESPACE,
  type ServerToStaffEvents,
  staffAssignSchema,
  staffConversationSchema,
  staffNoteSchema,
  type StaffPerson,
  staffSendSchema,
  staffTakeoverSchema,
  type StaffToServerEvents,
} from "../protocol/staff";

interface SocketData {
  staff: StaffIdentity;
}
type StaffSocket = Socket<StaffToServerEvents, ServerToStaffEvents, Record<string, never>, SocketData>;
export type StaffNamespace = Namespace<StaffToServerEvents, ServerToStaffEvents, Record<string, never>, SocketData>;

const DENIED = "Your role may not use the live chat.";

const NOTE_REFUSALS: Record<Extract<AddNoteResult, { ok: false }>["reason"], ChatError> = {
  unknown_conversation: { code: ErrorCode.unknownConversation, message: "No such conversation." },
  conversation_closed: { code: ErrorCode.conversationClosed, message: "This conversation is closed: notes can no longer be added." },
  too_many_notes: { code: ErrorCode.conversationFull, message: `This conversation already has ${MAX_NOTES_PER_CONVERSATION} notes.` },
};
/** An agent's typing reaches the customer at most this often per conversation. */
const TYPING_INTERVAL_MS = 1000;

export function attachStaffNamespace(io: Server): StaffNamespace {
  const nsp = io.of(STAFF_NAMESPACE) as StaffNamespace;

  requireStaffSockets(nsp, AREA_ROLES.support, DENIED);

  // A take over on another instance stops the bot's replies generated here.
  nsp.on(STOP_CONVERSATION_EVENT, (conversationId: string) => void stopConversationReplies(conversationId));

  nsp.on("connection", (socket: StaffSocket) => {
    void socket.join(INBOX_ROOM);
    guardEvents(socket, STAFF_EVENTS);
    // An agent who is online and opens the console takes what waits in the queue.
    availabilityOf(socket.data.staff.id)
      .then((availability) => (availability === "online" ? assignWaiting(io) : 0))
      .catch((err: unknown) => log.warn({ err }, "queue not assigned on connect"));
    const lastTyping = new Map<string, number>();

    // The conversations this socket was viewing lose a viewer once it is gone.
    let viewed: string[] = [];
    socket.on("disconnecting", () => {
      viewed = [...socket.rooms].flatMap((room) => (room.startsWith(CONVERSATION_ROOM_PREFIX) ? [room.slice(CONVERSATION_ROOM_PREFIX.length)] : []));
    });
    socket.on("disconnect", () => {
      for (const conversationId of viewed) void emitPresence(nsp, conversationId);
    });

    /** Re-checks the session, then runs the handler with the current identity; never throws to the client. */
    function on<E extends keyof StaffToServerEvents>(
      event: E,
      handler: (staff: StaffIdentity, payload: unknown, reply: (r: unknown) => void) => Promise<void>,
      /** `before` runs first, on every event; an answer it returns is sent at once and the handler skipped. */
      opts: { before?: (payload: unknown) => { ok: true; conversationId: string } | null } = {},
    ) {
      socket.on(event, ((payload: unknown, ack: unknown) => {
        const early = opts.before?.(payload);
        if (early) return typeof ack === "function" ? ack(early) : undefined;
        void guarded(socket, ack, async (reply) => {
          const v = await authenticateStaff(socket.handshake.headers.cookie, AREA_ROLES.support, DENIED);
          if (!v.ok) {
            reply({ ok: false, error: v.error });
            endSession(socket, v.error);
            return;
          }
          socket.data.staff = v.staff;
          await handler(v.staff, payload, reply);
        });
      }) as never);
    }

    on("staff:watch", async (_staff, payload, reply) => {
      const parsed = parsePayload(staffConversationSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const conversation = await findConversationForStaff(parsed.value.conversationId);
      if (!conversation) return reply(unknownConversation);
      await socket.join(conversationRoom(conversation.id));
      reply({ ok: true, ...staffState(conversation) });
      await emitPresence(nsp, conversation.id);
    });

    on("staff:unwatch", async (_staff, payload, reply) => {
      const parsed = parsePayload(staffConversationSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const { conversationId } = parsed.value;
      const watching = socket.rooms.has(conversationRoom(conversationId));
      await socket.leave(conversationRoom(conversationId));
      reply({ ok: true, conversationId });
      if (watching) await emitPresence(nsp, conversationId);
    });

    on("staff:takeover", async (staff, payload, reply) => {
      const parsed = parsePayload(staffTakeoverSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const { conversationId, force } = parsed.value;
      const r = await takeOver(io, staff, conversationId, { force });
      if (r.ok && !socket.rooms.has(conversationRoom(conversationId))) {
        await socket.join(conversationRoom(conversationId));
        void emitPresence(nsp, conversationId);
      }
      reply(r.ok ? { ok: true, ...r.state } : r);
    });

    on("staff:assign", async (staff, payload, reply) => {
      const parsed = parsePayload(staffAssignSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const r = await reassign(io, staff, parsed.value.conversationId, parsed.value.staffId);
      reply(r.ok ? { ok: true, ...r.state } : r);
    });

    on("staff:handback", async (staff, payload, reply) => {
      const parsed = parsePayload(staffConversationSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const r = await handBack(io, staff, parsed.value.conversationId);
      reply(r.ok ? { ok: true, ...r.state } : r);
    });

    on("staff:close", async (staff, payload, reply) => {
      const parsed = parsePayload(staffConversationSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const r = await close(io, staff, parsed.value.conversationId);
      reply(r.ok ? { ok: true, ...r.state } : r);
    });

    on("staff:note", async (staff, payload, reply) => {
      const parsed = parsePayload(staffNoteSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const text = validateText(parsed.value.text);
      if (!text.ok) return reply(text);
      const r = await addNote(parsed.value.conversationId, staff.id, text.text);
      if (!r.ok) return reply({ ok: false, error: NOTE_REFUSALS[r.reason] });
      // The staff namespace only: a note never goes to the customer's /chat room.
      nsp.to(conversationRoom(r.note.conversationId)).emit("staff:note", r.note);
      reply({ ok: true, note: r.note });
    });

    on("staff:send", async (staff, payload, reply) => {
      const parsed = parsePayload(staffSendSchema, payload);
      if (!parsed.ok) return reply(parsed);
      const r = await sendAgentMessage(io, staff, parsed.value);
      reply(r.ok ? { ok: true, conversationId: r.message.conversationId, messageId: r.message.id } : r);
    });

    on(
      "staff:typing",
      async (staff, payload, reply) => {
        const parsed = parsePayload(staffConversationSchema, payload);
        if (!parsed.ok) return reply(parsed);
        const { conversationId } = parsed.value;
        const conversation = await findConversationForStaff(conversationId);
        if (!conversation) return reply(unknownConversation);
        // Every staff member's typing is shown to the other staff watching; only the assignee's to the customer.
        socket.to(conversationRoom(conversationId)).emit("staff:typing", { conversationId, staff: person(staff) });
        if (conversation.status === "agent" && conversation.assignedStaffId === staff.id) {
          const chat = io.of(CHAT_NAMESPACE) as unknown as Namespace<Record<string, never>, ServerToClientEvents>;
          chat.to(customerRoom(conversation.customerId)).emit("chat:agent-typing", { conversationId, name: staff.name });
        }
        reply({ ok: true, conversationId });
      },
      {
        // Throttled before anything touches the database: a typist sends many of these.
        // A throttled one is answered as handled (nothing relayed), with no further check.
        before: (payload) => {
          const id = (payload as { conversationId?: unknown } | null)?.conversationId;
          if (typeof id !== "string") return null;
          const now = Date.now();
          if (now - (lastTyping.get(id) ?? 0) < TYPING_INTERVAL_MS) return { ok: true, conversationId: id };
          if (lastTyping.size > 100) lastTyping.clear();
          lastTyping.set(id, now);
          return null;
        },
      },
    );
  });
  return nsp;
}

const unknownConversation = { ok: false as const, error: { code: ErrorCode.unknownConversation, message: "No such conversation." } };

const CONVERSATION_ROOM_PREFIX = conversationRoom("");
const person = (staff: StaffIdentity): StaffPerson => ({ id: staff.id, name: staff.name });

/**
 * Tells everyone watching a conversation who is viewing it: the members of its room on every
 * instance (fetchSockets asks the others through the adapter), each person once.
 */
async function emitPresence(nsp: StaffNamespace, conversationId: string): Promise<void> {
  const room = conversationRoom(conversationId);
  try {
    const sockets = await nsp.in(room).fetchSockets();
    const viewers = new Map<string, StaffPerson>();
    for (const s of sockets) if (s.data.staff) viewers.set(s.data.staff.id, person(s.data.staff));
    const sorted = [...viewers.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    nsp.to(room).emit("staff:presence", { conversationId, viewers: sorted });
  } catch (err) {
    // An instance that does not answer in time: the next change sends the list again.
    log.warn({ err, conversationId }, "staff presence not sent");
  }
}

/** Tells the socket why it is being cut off, then disconnects it. */
