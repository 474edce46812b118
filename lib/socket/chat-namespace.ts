/** The customer-facing socket.io namespace `/chat`: authentication and the protocol's events. */
import type { Namespace, Server, Socket } from "socket.io";
import { config } from "../config";
import { findCustomerBotMessage, findCustomerConversation, listMessages, toChatMessage } from "../db/queries";
import { mintCustomerToken, verifyCustomerToken } from "../customer-token";
import { log } from "../log";
import {
  CHAT_NAMESPACE,
  ErrorCode,
  type ChatError,
  type ClientToServerEvents,
  type ServerToClientEvents,
  historySchema,
  parsePayload,
  sendSchema,
  stopSchema,
} from "../protocol";
import { customerRoom } from "../chat/rooms";
import { runCustomerTurn, stopReply } from "../chat/turn";

interface SocketData {
  customerId: string;
  customerToken: string;
}
type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const STOP_EVENT = "loopdesk:stop-reply";

export type ChatNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export function attachChatNamespace(io: Server): ChatNamespace {
  const nsp = io.of(CHAT_NAMESPACE) as ChatNamespace;
  const secret = config().customerTokenSecret;

  // A first visit gets a fresh token; a forged or malformed one is refused so the client can start over.
  nsp.use((socket, next) => {
    const given = (socket.handshake.auth as { customerToken?: unknown }).customerToken;
    if (given === undefined || given === null || given === "") {
      const { customerId, token } = mintCustomerToken(secret);
      socket.data = { customerId, customerToken: token };
      return next();
    }
    const customerId = verifyCustomerToken(given, secret);
    if (!customerId) {
      const err = new Error("Invalid customer token.") as Error & { data: ChatError };
      err.data = { code: ErrorCode.invalidToken, message: "Invalid customer token; connect without one to start over." };
      return next(err);
    }
    socket.data = { customerId, customerToken: given as string };
    next();
  });

  // Stop may arrive at another instance than the one generating the reply.
  nsp.on(STOP_EVENT, (messageId: string) => void stopReply(messageId));

  nsp.on("connection", (socket: ChatSocket) => {
    const { customerId } = socket.data;
    void socket.join(customerRoom(customerId));
    socket.emit("chat:session", { customerToken: socket.data.customerToken });

    socket.on("chat:send", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(sendSchema, payload);
        if (!parsed.ok) return reply(parsed);
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
        reply({ ok: true, conversationId: conversation.id, status: conversation.status, messages: messages.map(toChatMessage) });
      }),
    );

    socket.on("chat:stop", (payload, ack) =>
      guarded(socket, ack, async (reply) => {
        const parsed = parsePayload(stopSchema, payload);
        if (!parsed.ok) return reply(parsed);
        const message = await findCustomerBotMessage(parsed.value.messageId, customerId);
        if (!message) return reply({ ok: false, error: { code: ErrorCode.unknownMessage, message: "No such reply." } });
        if (!stopReply(message.id)) nsp.serverSideEmit(STOP_EVENT, message.id);
        reply({ ok: true, messageId: message.id });
      }),
    );
  });
  return nsp;
}

/**
 * Runs an event handler so that a bad payload or a failure never breaks the connection: the client
 * always gets an answer with a stable code, and internals stay in the server log.
 */
async function guarded<R>(
  socket: ChatSocket,
  ack: unknown,
  handler: (reply: (r: R | { ok: false; error: ChatError }) => void) => Promise<void>,
): Promise<void> {
  let answered = false;
  const reply = (r: R | { ok: false; error: ChatError }) => {
    if (answered) return;
    answered = true;
    if (typeof ack === "function") ack(r);
  };
  try {
    await handler(reply);
  } catch (err) {
    log.error({ err, socket: socket.id }, "chat event failed");
    const error = { code: ErrorCode.unavailable, message: "The service is temporarily unavailable; please retry." };
    if (answered) socket.emit("chat:error", error);
    else reply({ ok: false, error });
  }
}
