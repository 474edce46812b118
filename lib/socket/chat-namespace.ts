/** The customer-facing socket.io namespace `/chat`: authentication and the protocol's events. */
import type { Namespace, Server, Socket } from "socket.io";
import { config } from "../config";
import { storeReplyFeedback } from "../db/customer-feedback";
import { findCustomerConversation, messagePage, toChatMessage } from "../db/conversations";
import { findCustomerBotMessage } from "../db/replies";
import { addressKey } from "../client-address";
import { mintCustomerToken, signCustomerToken, verifyRotatedCustomerToken } from "../customer-token";
import { metrics } from "../metrics";
import { guarded, guardEvents, TokenBucket } from "./guarded";
import { socketRateLimits } from "./rate-limits";
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
import { leaveEmail } from "../chat/follow-up";
import { rate } from "../chat/handover";
import { stopReply } from "../chat/replies";
import { admitTurn } from "../chat/generation-queue";
import { answerClarification, runCustomerTurn } from "../chat/turn";

interface SocketData {
  customerId: string;
  customerToken: string;
}
type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const STOP_EVENT = "loopdesk:stop-reply";
const UNKNOWN_CONVERSATION = { ok: false as const, error: { code: ErrorCode.unknownConversation, message: "No such conversation." } };
/** A customer's typing reaches staff at most this often per conversation. */
const TYPING_INTERVAL_MS = 1000;

export type ChatNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export function attachChatNamespace(io: Server): ChatNamespace {
  const nsp = io.of(CHAT_NAMESPACE) as ChatNamespace;
  const cfg = config();
  const { customerTokenSecret: secret, customerTokenSecrets: secrets } = cfg;
  const limits = socketRateLimits();
  const refuse = (error: ChatError) => Object.assign(new Error(error.message), { data: error });

  // Too many connections from one address are refused before anything else.
  nsp.use((socket, next) => {
    limits
      .then((l) => l.connection(addressKey(socket.handshake.address)))
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
    const address = addressKey(socket.handshake.address);
    void socket.join(customerRoom(customerId));
    socket.emit("chat:session", { customerToken: socket.data.customerToken });
    // Every event, whatever it is, takes a token before any work is done.
    guardEvents(socket, CLIENT_EVENTS, new TokenBucket(cfg.SOCKET_EVENT_BURST, cfg.SOCKET_EVENTS_PER_SECOND));

    /**
     * A message to answer: within the message rate limits, and admitted (a free slot for this customer,
     * this address and the process) before it is stored, so an acknowledged one is always answered.
     */
    const answerMessage = async (reply: (r: { ok: false; error: ChatError }) => void, turn: () => Promise<void>) => {
      const refused = await (await limits).message(customerId, address);
      if (refused) return reply({ ok: false, error: refused });
      const admission = admitTurn(customerId, address);
      if (!admission.ok) return reply(admission);
      try {
        await turn();
      } finally {
        admission.release();
      }
    };

    socket.on("chat:send", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(sendSchema, payload);
        if (!parsed.ok) return reply(parsed);
        await answerMessage(reply, () => runCustomerTurn(io, customerId, parsed.value, reply));
      }),
    );

    socket.on("chat:history", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(historySchema, payload);
        if (!parsed.ok) return reply(parsed);
        const conversation = await findCustomerConversation(parsed.value.conversationId, customerId);
        if (!conversation) return reply(UNKNOWN_CONVERSATION);
        const page = await messagePage(conversation.id, { before: parsed.value.before, take: cfg.HISTORY_PAGE_SIZE });
        if (!page) return reply({ ok: false, error: { code: ErrorCode.invalidPayload, message: "Invalid payload: before: not a cursor of this conversation's history." } });
        reply({
          ok: true,
          conversationId: conversation.id,
          status: conversation.status,
          rating: conversation.rating,
          emailFollowUp: conversation.emailFollowUp,
          messages: page.messages.map(toChatMessage),
          olderCursor: page.olderCursor,
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
    socket.on("chat:typing", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(typingSchema, payload);
        if (!parsed.ok) return reply(parsed);
        const { conversationId } = parsed.value;
        const now = Date.now();
        // A throttled one is answered as handled (nothing relayed), with no further check.
        if (now - (lastTyping.get(conversationId) ?? 0) < TYPING_INTERVAL_MS) return reply({ ok: true, conversationId });
        lastTyping.set(conversationId, now);
        if (lastTyping.size > 100) lastTyping.clear();
        if (!ownConversations.has(conversationId)) {
          if (!(await findCustomerConversation(conversationId, customerId))) return reply(UNKNOWN_CONVERSATION);
          ownConversations.add(conversationId);
        }
        io.of(STAFF_NAMESPACE).to(conversationRoom(conversationId)).emit("chat:customer-typing", { conversationId });
        reply({ ok: true, conversationId });
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

    // Answering a clarified question is a message like chat:send, under the same limits.
    socket.on("chat:clarify", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(clarifySchema, payload);
        if (!parsed.ok) return reply(parsed);
        await answerMessage(reply, () => answerClarification(io, customerId, parsed.value, reply));
      }),
    );

    socket.on("chat:email", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        reply(await leaveEmail(io, customerId, payload));
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
