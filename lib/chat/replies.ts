/**
 * The bot reply's lifecycle around a turn: the registry of replies this process is generating (so
 * Stop and a take over reach them), saving a streaming reply's text as it grows, the heartbeat and
 * abandoned-reply sweep, and template replies.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "socket.io";
import { toChatMessage } from "../db/conversations";
import { createBotReply, finishBotReply, interruptAbandonedReplies, saveReplyProgress, touchStreamingReplies } from "../db/replies";
import { retryWhileDatabaseUnavailable as persist } from "../db/retry";
import { log } from "../log";
import { metrics } from "../metrics";
import { GenerationStopper } from "../models/lm";
import type { ReplyDecision } from "../db/replies";
import type { ReplyGrounding } from "../protocol/chat";
import { conversationEmitter, type ConversationEmitter } from "./broadcast";

/** Replies being generated (or queued) in this process, by bot message id, so Stop can reach them. */
const activeReplies = new Map<string, GenerationStopper>();

/** The conversation of each active reply, so a take over can stop the bot mid-answer. */
const activeReplyConversations = new Map<string, string>();

/** Makes a reply stoppable while this process generates (or queues) it; `releaseReply` when it ends. */
export function trackReply(messageId: string, conversationId: string): GenerationStopper {
  const stopper = new GenerationStopper();
  activeReplies.set(messageId, stopper);
  activeReplyConversations.set(messageId, conversationId);
  return stopper;
}

export function releaseReply(messageId: string): void {
  activeReplies.delete(messageId);
  activeReplyConversations.delete(messageId);
}

/** Stops a reply if this process is generating it; returns whether it was found here. */
export function stopReply(messageId: string): boolean {
  const stopper = activeReplies.get(messageId);
  stopper?.interrupt();
  return stopper !== undefined;
}

/** Stops every reply this process is generating (or has queued) in a conversation; returns how many. */
export function stopConversationReplies(conversationId: string): number {
  let n = 0;
  for (const [messageId, id] of activeReplyConversations) if (id === conversationId && stopReply(messageId)) n++;
  return n;
}

/** A streaming reply's text is stored at most this often, for clients that reconnect mid-reply. */
const PROGRESS_INTERVAL_MS = 300;

/**
 * Stores a streaming reply's text as it grows: at most every PROGRESS_INTERVAL_MS and one write at a
 * time, best effort (the final text is stored by finishBotReply, with retries).
 */
export class ReplyProgress {
  private lastWrite = 0;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly messageId: string) {}

  save(text: string): void {
    if (this.inFlight || Date.now() - this.lastWrite < PROGRESS_INTERVAL_MS) return;
    this.lastWrite = Date.now();
    this.inFlight = saveReplyProgress(this.messageId, text)
      .catch((err: unknown) => log.warn({ err, messageId: this.messageId }, "could not store a reply's progress"))
      .finally(() => (this.inFlight = null));
  }

  /** Waits for a write in flight, so it cannot land after the final text. */
  async settled(): Promise<void> {
    await this.inFlight;
  }
}

/** Bot messages written from a template rather than by the language model carry this version. */
const TEMPLATE_MODEL_VERSION = "template";

/**
 * A reply the language model does not write: stored whole, then sent as one piece. Returns false when
 * another send of the customer's message already created the reply (and so finishes it).
 */
export async function replyWithTemplate(
  emit: ConversationEmitter,
  reply: { conversationId: string; replyToId: string; text: string; decision: ReplyDecision; grounding: ReplyGrounding },
): Promise<boolean> {
  const { conversationId, replyToId, decision } = reply;
  const replyId = randomUUID();
  const { created } = await persist("create reply", () => createBotReply(conversationId, replyToId, TEMPLATE_MODEL_VERSION, decision, replyId));
  if (!created) return false;
  metrics().decisions.inc({ decision });
  await finishWithTemplate(emit, { ...reply, replyId });
  return true;
}

/** Finishes a created reply with a fixed text (and `decision`, when it changed): stored whole, then sent as one piece. */
export async function finishWithTemplate(
  emit: ConversationEmitter,
  reply: { conversationId: string; replyId: string; replyToId: string; text: string; grounding: ReplyGrounding; decision?: ReplyDecision },
): Promise<void> {
  const { conversationId, replyId, replyToId, text, grounding, decision } = reply;
  emit("chat:typing", { conversationId, messageId: replyId, replyToId, queued: false });
  await persist("finish reply", () =>
    finishBotReply(replyId, { text, status: "complete", timeToFirstTokenMs: 0, tokenCount: 0, generationMs: 0, grounding, decision }),
  );
  emit("chat:token", { conversationId, messageId: replyId, text, offset: 0 });
  emit("chat:done", { conversationId, messageId: replyId, text, stopped: false, sources: grounding.sources, clarify: grounding.clarify ?? null, ...(grounding.askEmail ? { askEmail: true as const } : {}) });
}

/** A streaming reply whose heartbeat is older than this was left by a dead process. */
const ABANDONED_AFTER_MS = 20_000;
/** How often this process renews the heartbeat of its replies, and looks for abandoned ones. */
const HEARTBEAT_INTERVAL_MS = 5_000;
const SWEEP_INTERVAL_MS = 10_000;

/**
 * Keeps the replies this process generates (or has queued) marked alive, and marks replies left
 * streaming by a dead process (a crash, SIGKILL) as interrupted: at startup and then periodically,
 * as another instance may die while this one runs. Customers watching get the interrupted reply.
 */
export function startReplyWatch(io: Server): void {
  const sweep = () =>
    interruptAbandonedReplies(ABANDONED_AFTER_MS, [...activeReplies.keys()]).then(
      (replies) => {
        for (const { message, customerId } of replies) {
          log.warn({ messageId: message.id }, "reply interrupted: the process generating it is gone");
          metrics().replies.inc({ outcome: "interrupted" });
          conversationEmitter(io, customerId, message.conversationId)("chat:message", toChatMessage(message));
        }
      },
      (err: unknown) => log.warn({ err }, "could not look for interrupted replies"),
    );
  void sweep();
  setInterval(() => void sweep(), SWEEP_INTERVAL_MS).unref();
  setInterval(
    () => void touchStreamingReplies([...activeReplies.keys()]).catch((err: unknown) => log.warn({ err }, "reply heartbeat failed")),
    HEARTBEAT_INTERVAL_MS,
  ).unref();
}
