/**
 * What customers say about the bot's replies: "Did this answer your question?" (once per reply) and
 * their pick on a clarifying question (once per question; stored as a label of the clarified message,
 * which makes it training data). Only on the customer's own bot replies.
 */
import type { ReplyGrounding } from "../protocol/chat";
import { ErrorCode, type ChatError } from "../protocol/errors";
import { db } from "./client";
import { createBotReply } from "./replies";

type Refusal = { ok: false; error: ChatError };

const unknownReply: Refusal = { ok: false, error: { code: ErrorCode.unknownMessage, message: "No such reply." } };

export async function storeReplyFeedback(messageId: string, customerId: string, helpful: boolean): Promise<{ ok: true } | Refusal> {
  const { count } = await db().message.updateMany({
    where: {
      id: messageId,
      role: "bot",
      customerHelpful: null,
      replyStatus: { in: ["complete", "stopped"] },
      conversation: { customerId },
    },
    data: { customerHelpful: helpful, customerFeedbackAt: new Date() },
  });
  if (count === 1) return { ok: true };
  const message = await db().message.findFirst({ where: { id: messageId, conversation: { customerId } } });
  if (!message) return unknownReply;
  if (message.customerHelpful !== null) return { ok: false, error: { code: ErrorCode.alreadyAnswered, message: "Feedback was already given." } };
  return { ok: false, error: { code: ErrorCode.notApplicable, message: "Feedback is only for the bot's finished replies." } };
}

/**
 * Records the customer's pick on a clarifying question and creates the reply that answers the
 * clarified message (creating it is what makes the pick count once).
 */
export async function storeClarification(clarifyReplyId: string, customerId: string, intent: string, modelVersion: string) {
  const clarifyReply = await db().message.findFirst({
    where: { id: clarifyReplyId, conversation: { customerId } },
    include: { conversation: true },
  });
  if (!clarifyReply) return unknownReply;
  const question = clarifyReply.replyToId ? await db().message.findUnique({ where: { id: clarifyReply.replyToId } }) : null;
  const options = (clarifyReply.grounding as ReplyGrounding | null)?.clarify ?? [];
  if (!question || !options.some((o) => o.intent === intent)) {
    return { ok: false as const, error: { code: ErrorCode.notApplicable, message: "That is not an option of this question." } };
  }
  if (clarifyReply.conversation.status !== "bot") {
    return { ok: false as const, error: { code: ErrorCode.invalidState, message: "The conversation is with our team now." } };
  }
  const { message: reply, created } = await createBotReply(question.conversationId, question.id, modelVersion, "answer", undefined, "clarified");
  if (!created) return { ok: false as const, error: { code: ErrorCode.alreadyAnswered, message: "This question was already clarified." } };
  await db().intentLabel.create({
    data: { messageId: question.id, intent, source: "customer_clarification", labeledBy: `customer:${customerId}` },
  });
  return { ok: true as const, question, reply };
}
