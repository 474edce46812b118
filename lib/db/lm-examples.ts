/**
 * Language-model training examples in the database: the answers staff approved (a corrected bot reply,
 * an agent's own reply), and the customer 👍 replies read straight from Message at export time. Each
 * example keeps the turn it answers: the customer's message, the conversation before it and the facts.
 */
import type { LmExampleOrigin, Message, Prisma } from "../generated/prisma/client";
import type { MessageRole } from "../protocol/chat";
import type { StaffLmExample } from "../protocol/staff";
import { db } from "./client";
import { groundingOf } from "./conversations";
import { nullWhenMissing } from "./errors";

/** Messages of the conversation read for a prompt's history, as the chat turn reads (lib/chat/turn.ts). */
const HISTORY_MESSAGES = 40;

/** A message of the conversation before the answered one (lib/chat/prompt.ts HistoryMessage). */
export interface HistoryMessage {
  role: MessageRole;
  text: string;
}

export interface AnsweredTurn {
  /** The bot reply or agent message that answers. */
  source: Pick<Message, "id" | "role" | "conversationId" | "text" | "feedback" | "replyStatus">;
  /** The customer message it answers. */
  question: { id: string; text: string };
  /** Staff's newest label of the customer message, else the picked or classified intent. */
  intent: string | null;
  history: HistoryMessage[];
  /** A bot reply's grounding facts, best first (none for an agent message). */
  facts: string[];
}

const LATEST_LABEL = { orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: 1, select: { intent: true } } satisfies Prisma.Message$intentLabelsArgs;

/**
 * The turn a bot reply or agent message answers, or null when it is not such a message: a bot reply's
 * customer message is the one it replied to, an agent's the newest customer message before it.
 */
export async function answeredTurn(messageId: string): Promise<AnsweredTurn | null> {
  const source = await db().message.findUnique({ where: { id: messageId } });
  if (!source || (source.role !== "bot" && source.role !== "agent")) return null;
  const question =
    source.role === "bot"
      ? source.replyToId
        ? await db().message.findUnique({ where: { id: source.replyToId }, include: { intentLabels: LATEST_LABEL } })
        : null
      : await db().message.findFirst({
          where: { conversationId: source.conversationId, role: "customer", createdAt: { lte: source.createdAt } },
          orderBy: [{ createdAt: "desc" }, { id: "desc" }],
          include: { intentLabels: LATEST_LABEL },
        });
  if (!question || question.role !== "customer") return null;
  const grounding = groundingOf(source);
  const before = await db().message.findMany({
    where: { conversationId: source.conversationId, createdAt: { lt: question.createdAt } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: HISTORY_MESSAGES,
  });
  return {
    source,
    question: { id: question.id, text: question.text },
    intent: question.intentLabels[0]?.intent ?? grounding?.clarifiedIntent ?? question.intent,
    // Staff notes and clarifying questions are not dialogue (the chat turn's prompt leaves them out too).
    history: before
      .reverse()
      .filter((m) => m.role !== "system" && (m.role !== "bot" || !groundingOf(m)?.clarify))
      .map((m) => ({ role: m.role, text: m.text })),
    facts: grounding?.check?.facts.map((f) => f.text) ?? [],
  };
}

export interface LmExampleData {
  origin: LmExampleOrigin;
  approvedById: string;
  sourceMessageId: string;
  conversationId: string;
  intent: string | null;
  facts: string[];
  history: HistoryMessage[];
  question: string;
  answer: string;
}

const WITH_APPROVER = { approvedBy: { select: { email: true } } } satisfies Prisma.LmExampleInclude;
export type StoredLmExample = Prisma.LmExampleGetPayload<{ include: typeof WITH_APPROVER }>;

/** One example per answering message: saving again replaces its answer (and who approved it). */
export async function saveLmExample(data: LmExampleData): Promise<StoredLmExample> {
  const { sourceMessageId, history, ...rest } = data;
  return db().lmExample.upsert({
    where: { sourceMessageId },
    create: { sourceMessageId, ...rest, history: history.map((m) => ({ role: m.role, text: m.text })) },
    update: { answer: data.answer, approvedById: data.approvedById },
    include: WITH_APPROVER,
  });
}

export async function findLmExample(id: string): Promise<StoredLmExample | null> {
  return db().lmExample.findUnique({ where: { id }, include: WITH_APPROVER });
}

/** The updated example; null when there is none. */
export async function updateLmExampleAnswer(id: string, answer: string, approvedById: string): Promise<StoredLmExample | null> {
  return nullWhenMissing(db().lmExample.update({ where: { id }, data: { answer, approvedById }, include: WITH_APPROVER }));
}

/** The deleted example; null when there was none. */
export async function deleteLmExample(id: string): Promise<StoredLmExample | null> {
  return nullWhenMissing(db().lmExample.delete({ where: { id }, include: WITH_APPROVER }));
}

/**
 * Finished bot replies a customer gave 👍 that staff have not marked Bad, answered from the help centre
 * (so grounded in facts; generated, or quoted under load as a failed check would have): training data
 * without a stored copy.
 */
const THUMBS_UP = {
  role: "bot",
  decision: { in: ["answer", "answer_degraded"] },
  customerHelpful: true,
  replyStatus: "complete",
  OR: [{ feedback: null }, { feedback: "good" }],
} satisfies Prisma.MessageWhereInput;

export async function thumbsUpReplyIds(): Promise<string[]> {
  const rows = await db().message.findMany({ where: THUMBS_UP, select: { id: true }, orderBy: { id: "asc" } });
  return rows.map((r) => r.id);
}

export async function allLmExamples(): Promise<StoredLmExample[]> {
  return db().lmExample.findMany({ include: WITH_APPROVER, orderBy: { id: "asc" } });
}

/** How many examples each database origin holds (the ML console's data page). */
export async function lmExampleCounts(): Promise<{ staff_correction: number; agent_reply: number; customer_thumbs_up: number }> {
  const [byOrigin, thumbsUp] = await Promise.all([
    db().lmExample.groupBy({ by: ["origin"], _count: { _all: true } }),
    db().message.count({ where: THUMBS_UP }),
  ]);
  const count = (origin: LmExampleOrigin) => byOrigin.find((r) => r.origin === origin)?._count._all ?? 0;
  return { staff_correction: count("staff_correction"), agent_reply: count("agent_reply"), customer_thumbs_up: thumbsUp };
}

/** An example as the staff console shows it. */
export function toStaffLmExample(e: StoredLmExample): StaffLmExample {
  return { id: e.id, origin: e.origin, facts: e.facts as string[], answer: e.answer, approvedBy: e.approvedBy.email, updatedAt: e.updatedAt.toISOString() };
}
