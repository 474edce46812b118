/** The customer-facing socket.io namespace `/chat`: authentication and the protocol's events. */
import type { Namespace, Server, Socket } from "socket.io";
import { config } from "../config";
import { storeReplyFeedback } from "../db/customer-feedback";
import { findCustomerConversation, listMessages, toChatMessage } from "../db/conversations";
import { findCustomerBotMessage } from "../db/replies";
import { mintCustomerToken, signCustomerToken, verifyRotatedCustomerToken } from "../customer-token";
import { metrics } from "../metrics";
import { guarded, refuseUnknownEvents } from "./guarded";
import { chatRateLimits } from "./rate-limits";
import { ErrorCode, type ChatError, parsePayload } from "../protocol/errors";
import {
  CHAT_NAMESPACE,
  CLIENT_EVENTS,
  customerRoom,
  type ClientToServerEvents,
  type ServerToClientEvents,
  clarifySchema,
  feedbackSchema,
  historySchema,
  rateSchema,
  sendSchema,
  stopSchema,
  typingSchema,
} from "../protocol/chat";
import { conversationRoom, STAFF_NAMESPACE } from "../protocol/staff";
import { tellOtherInstances } from "../chat/broadcast";
import { rate } from "../chat/handover";
import { stopReply } from "../chat/replies";
import { answerClarification, runCustomerTurn } from "../chat/turn";

interface SocketData {
  customerId: string;
  customerToken: string;
}
type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const STOP_EVENT = "loopdesk:stop-reply";
/** A customer's typing reaches staff at most this often per conversation. */
const TYPING_INTERVAL_MS = 1000;

export type ChatNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export function attachChatNamespace(io: Server): ChatNamespace {
  const nsp = io.of(CHAT_NAMESPACE) as ChatNamespace;
  const { customerTokenSecret: secret, customerTokenSecrets: secrets } = config();
  const limits = chatRateLimits();
  const refuse = (error: ChatError) => Object.assign(new Error(error.message), { data: error });

  // Too many connections from one address are refused before anything else.
  nsp.use((socket, next) => {
    limits
      .then((l) => l.connection(socket.handshake.address))
      .then((refused) => next(refused ? refuse(refused) : undefined), next);
  });

  // A first visit gets a fresh token; a forged or malformed one is refused so the client can start over.
  // A token signed with a previous secret is accepted and re-issued under the current one (chat:session).
  nsp.use((socket, next) => {
    const given = (socket.handshake.auth as { customerToken?: unknown }).customerToken;
    if (given === undefined || given === null || given === "") {
      const { customerId, token } = mintCustomerToken(secret);
      socket.data = { customerId, customerToken: token };
      return next();
    }
    const verified = verifyRotatedCustomerToken(given, secrets);
    if (!verified) {
      return next(refuse({ code: ErrorCode.invalidToken, message: "Invalid customer token; connect without one to start over." }));
    }
    const { customerId, current } = verified;
    socket.data = { customerId, customerToken: current ? (given as string) : signCustomerToken(customerId, secret) };
    next();
  });

  // Stop may arrive at another instance than the one generating the reply.
  nsp.on(STOP_EVENT, (messageId: string) => void stopReply(messageId));

  nsp.on("connection", (socket: ChatSocket) => {
    const { customerId } = socket.data;
    void socket.join(customerRoom(customerId));
    socket.emit("chat:session", { customerToken: socket.data.customerToken });
    refuseUnknownEvents(socket, CLIENT_EVENTS);

    socket.on("chat:send", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(sendSchema, payload);
        if (!parsed.ok) return reply(parsed);
        const refused = await (await limits).message(customerId, socket.handshake.address);
        if (refused) return reply({ ok: false, error: refused });
        await runCustomerTurn(io, customerId, parsed.value, reply);
      }),
    );

    socket.on("chat:history", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(historySchema, payload);
        if (!parsed.ok) return reply(parsed);
        const conversation = await findCustomerConversation(parsed.value.conversationId, customerId);
        if (!conversation) return reply({ ok: false, error: { code: ErrorCode.unknownConversation, message: "No such conversation." } });
        const messages = await listMessages(conversation.id);
        reply({
          ok: true,
          conversationId: conversation.id,
          status: conversation.status,
          rating: conversation.rating,
          messages: messages.map(toChatMessage),
        });
      }),
    );

    socket.on("chat:stop", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(stopSchema, payload);
        if (!parsed.ok) return reply(parsed);
        const message = await findCustomerBotMessage(parsed.value.messageId, customerId);
        if (!message) return reply({ ok: false, error: { code: ErrorCode.unknownMessage, message: "No such reply." } });
        if (!stopReply(message.id)) tellOtherInstances(nsp, STOP_EVENT, message.id);
        reply({ ok: true, messageId: message.id });
      }),
    );

    // Typing goes to the staff watching the conversation; throttled, and only for the customer's own.
    const ownConversations = new Set<string>();
    const lastTyping = new Map<string, number>();
    socket.on("chat:typing", (payload) =>
      guarded(socket, undefined, async () => {
        const parsed = parsePayload(typingSchema, payload);
        if (!parsed.ok) return;
        const { conversationId } = parsed.value;
        const now = Date.now();
        if (now - (lastTyping.get(conversationId) ?? 0) < TYPING_INTERVAL_MS) return;
        lastTyping.set(conversationId, now);
        if (lastTyping.size > 100) lastTyping.clear();
        if (!ownConversations.has(conversationId)) {
          if (!(await findCustomerConversation(conversationId, customerId))) return;
          ownConversations.add(conversationId);
        }
        io.of(STAFF_NAMESPACE).to(conversationRoom(conversationId)).emit("chat:customer-typing", { conversationId });
      }),
    );

    socket.on("chat:feedback", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(feedbackSchema, payload);
        if (!parsed.ok) return reply(parsed);
        const { messageId, helpful } = parsed.value;
        const stored = await storeReplyFeedback(messageId, customerId, helpful);
        if (stored.ok) metrics().feedback.inc({ rating: helpful ? "up" : "down" });
        reply(stored.ok ? { ok: true, messageId, helpful } : stored);
      }),
    );

    // Answering a clarified question is a message like chat:send, under the same rate limit.
    socket.on("chat:clarify", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(clarifySchema, payload);
        if (!parsed.ok) return reply(parsed);
        const refused = await (await limits).message(customerId, socket.handshake.address);
        if (refused) return reply({ ok: false, error: refused });
        await answerClarification(io, customerId, parsed.value, reply);
      }),
    );

    socket.on("chat:rate", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(rateSchema, payload);
        if (!parsed.ok) return reply(parsed);
        reply(await rate(io, customerId, parsed.value));
      }),
    );
  });
  return nsp;
}
