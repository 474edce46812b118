/**
 * Every database read and write of the staff console's inbox, queues, transcripts and labelling.
 *
 * The inbox reads only the denormalised Conversation columns (kept up to date by the chat path), so
 * its filters and keyset pages run on indexes over 100,000 conversations: ordered by
 * (lastMessageAt desc, id desc), a page continues strictly after the last row of the previous one
 * and stays stable while new activity arrives. Full-text search goes through the generated
 * "searchVector" columns of Message and ConversationNote (private notes) and their GIN indexes.
 */
import { Prisma } from "../generated/prisma/client";
import {
  bareStaffMessage,
  MAX_PAGE_SIZE,
  TRANSCRIPT_PAGE_SIZE,
  type ConversationDetail,
  type ConversationSummary,
  type InboxFilters,
  type Page,
  type ReplyFeedback,
  type ReviewItem,
  type StaffMessage,
} from "../protocol/staff";
import type { ConversationStatus } from "../protocol/chat";
import { ApiError } from "../http";
import { db } from "./client";
import { groundingOf, messagesBefore, NEWEST_FIRST, olderPage } from "./conversations";
import { decodeCursor, encodeCursor, timeAndIdCursor, UUID } from "./cursor";
import { productionDeployment, versionMetrics } from "./ml";
import { toStaffLmExample } from "./lm-examples";
import { listNotes } from "./notes";

export const DEFAULT_PAGE_SIZE = 50;

// ---------------------------------------------------------------------------------------------
// Cursors (lib/db/cursor.ts)

const invalidCursor = () => new ApiError(400, "invalid_cursor", "The cursor is not valid; start from the first page.");

/** The cursor of the page after a row (the inbox list's sort key). */
export function conversationCursorAfter(row: { lastMessageAt: string; id: string }): string {
  return encodeCursor([row.lastMessageAt, row.id]);
}

function conversationCursor(cursor: string): { at: string; id: string } {
  const key = timeAndIdCursor(cursor);
  if (!key) throw invalidCursor();
  return key;
}

function reviewCursor(cursor: string): { margin: number; id: string } {
  const [margin, id] = decodeCursor(cursor) ?? [];
  if (typeof margin !== "number" || !Number.isFinite(margin) || typeof id !== "string" || !UUID.test(id)) throw invalidCursor();
  return { margin, id };
}

/** Prisma stores DateTime as UTC `timestamp(3)`; compare against the same. */
const ts = (d: Date | string) => Prisma.sql`${typeof d === "string" ? d : d.toISOString()}::timestamp(3)`;

// ---------------------------------------------------------------------------------------------
// Conversation lists

interface ConversationRow {
  id: string;
  customerId: string;
  status: ConversationStatus;
  createdAt: Date;
  lastMessageAt: Date;
  lastMessagePreview: string;
  lastIntent: string | null;
  minIntentProbability: number | null;
  hasCorrection: boolean;
  waitingSince: Date | null;
  assignedStaffId: string | null;
  assignedStaffName: string | null;
  rating: number | null;
  closedAt: Date | null;
  snippet?: string | null;
}

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();
const isoOrNull = (d: Date | string | null) => (d == null ? null : iso(d));

function toSummary(r: ConversationRow): ConversationSummary & { snippet?: string | null } {
  return {
    id: r.id,
    customerId: r.customerId,
    status: r.status,
    createdAt: iso(r.createdAt),
    lastMessageAt: iso(r.lastMessageAt),
    lastMessagePreview: r.lastMessagePreview,
    lastIntent: r.lastIntent,
    minIntentProbability: r.minIntentProbability == null ? null : Number(r.minIntentProbability),
    hasCorrection: r.hasCorrection,
    waitingSince: isoOrNull(r.waitingSince),
    assignedStaffId: r.assignedStaffId,
    assignedStaffName: r.assignedStaffName,
    rating: r.rating,
    closedAt: isoOrNull(r.closedAt),
    ...(r.snippet !== undefined ? { snippet: r.snippet } : {}),
  };
}

const SUMMARY_COLUMNS = Prisma.sql`
  c.id, c."customerId", c.status::text AS status, c."createdAt", c."lastMessageAt", c."lastMessagePreview",
  c."lastIntent", c."minIntentProbability", c."hasCorrection", c."waitingSince", c."assignedStaffId",
  s.name AS "assignedStaffName", c.rating, c."closedAt"`;

/** Marks the words a search matched in a snippet: \u0001 before, \u0002 after (the UI highlights them). */
export const MATCH_START = "\u0001";
export const MATCH_END = "\u0002";

/**
 * Full-text search runs one of two plans, chosen by how many messages match (the planner's own
 * estimate for a tsquery is too rough: it would scan the whole inbox for a rare word):
 *  - at most SEARCH_EXACT_LIMIT matching messages: the GIN index finds them all, and the page is
 *    cut from their conversations (a handful of primary-key lookups);
 *  - more: matches are dense, so walking the inbox in its order and checking each conversation's
 *    messages (a correlated subplan on Message(conversationId, createdAt)) fills a page quickly.
 */
export const SEARCH_EXACT_LIMIT = 5000;

const tsquery = (q: string) => Prisma.sql`websearch_to_tsquery('english', ${q})`;

/** The searchable texts of one conversation (`conversation`: SQL naming its id): messages and private notes. */
const searchedTexts = (conversation: Prisma.Sql, q: string) => Prisma.sql`(
    SELECT m.text, m."createdAt" FROM "Message" m WHERE m."conversationId" = ${conversation} AND m."searchVector" @@ ${tsquery(q)}
    UNION ALL
    SELECT n.text, n."createdAt" FROM "ConversationNote" n WHERE n."conversationId" = ${conversation} AND n."searchVector" @@ ${tsquery(q)})`;

export function searchProbeSql(q: string): Prisma.Sql {
  return Prisma.sql`
    (SELECT m."conversationId" FROM "Message" m WHERE m."searchVector" @@ ${tsquery(q)} LIMIT ${SEARCH_EXACT_LIMIT + 1})
    UNION ALL
    (SELECT n."conversationId" FROM "ConversationNote" n WHERE n."searchVector" @@ ${tsquery(q)} LIMIT ${SEARCH_EXACT_LIMIT + 1})`;
}

/** The conversations with a message matching `q`, or null when there are too many to list. */
async function searchHits(q: string): Promise<string[] | null> {
  const rows = await db().$queryRaw<{ conversationId: string }[]>(searchProbeSql(q));
  if (rows.length > SEARCH_EXACT_LIMIT) return null;
  return [...new Set(rows.map((r) => r.conversationId))];
}

/**
 * The SQL of an inbox page. With a search, `hits` are the matching conversations (null: too many
 * to list, check each conversation instead). Exported for the benchmark's EXPLAIN.
 */
export function listConversationsSql(
  filters: InboxFilters,
  cursor: string | null | undefined,
  limit: number,
  hits?: string[] | null,
): Prisma.Sql {
  const where: Prisma.Sql[] = [];
  if (filters.status?.length) {
    where.push(Prisma.sql`c.status IN (${Prisma.join(filters.status.map((s) => Prisma.sql`${s}::"ConversationStatus"`))})`);
  }
  if (filters.intent) where.push(Prisma.sql`c."lastIntent" = ${filters.intent}`);
  if (filters.minConfidence !== undefined) where.push(Prisma.sql`c."minIntentProbability" >= ${filters.minConfidence}`);
  if (filters.maxConfidence !== undefined) where.push(Prisma.sql`c."minIntentProbability" <= ${filters.maxConfidence}`);
  if (filters.from) where.push(Prisma.sql`c."lastMessageAt" >= ${ts(filters.from)}`);
  if (filters.to) where.push(Prisma.sql`c."lastMessageAt" < ${ts(filters.to)}`);
  if (filters.hasCorrection !== undefined) where.push(Prisma.sql`c."hasCorrection" = ${filters.hasCorrection}`);
  const q = filters.q?.trim();
  if (q) {
    if (hits) where.push(Prisma.sql`c.id = ANY(${hits}::uuid[])`);
    else {
      // OFFSET 0 keeps this a per-row subplan (no semi-join): the inbox order drives the scan.
      where.push(Prisma.sql`(EXISTS (SELECT 1 FROM "Message" m
        WHERE m."conversationId" = c.id AND m."searchVector" @@ ${tsquery(q)} OFFSET 0)
        OR EXISTS (SELECT 1 FROM "ConversationNote" n
        WHERE n."conversationId" = c.id AND n."searchVector" @@ ${tsquery(q)} OFFSET 0))`);
    }
  }
  if (cursor) {
    const k = conversationCursor(cursor);
    where.push(Prisma.sql`(c."lastMessageAt", c.id) < (${ts(k.at)}, ${k.id}::uuid)`);
  }
  const snippet = q
    ? Prisma.sql`, (SELECT ts_headline('english', t.text, ${tsquery(q)},
          ${`StartSel=${MATCH_START}, StopSel=${MATCH_END}, MaxWords=20, MinWords=8, MaxFragments=1`})
        FROM ${searchedTexts(Prisma.sql`c.id`, q)} t
        ORDER BY t."createdAt" DESC LIMIT 1) AS snippet`
    : Prisma.empty;
  return Prisma.sql`
    SELECT ${SUMMARY_COLUMNS} ${snippet}
    FROM (
      SELECT * FROM "Conversation" c
      ${where.length ? Prisma.sql`WHERE ${Prisma.join(where, " AND ")}` : Prisma.empty}
      ORDER BY c."lastMessageAt" DESC, c.id DESC
      LIMIT ${limit}
    ) c
    LEFT JOIN "StaffUser" s ON s.id = c."assignedStaffId"
    ORDER BY c."lastMessageAt" DESC, c.id DESC`;
}

/** The statements a page runs (the search probe first, when searching), for the benchmark's EXPLAIN. */
export async function listConversationsStatements(filters: InboxFilters, cursor: string | null | undefined, limit: number): Promise<Prisma.Sql[]> {
  const q = filters.q?.trim();
  if (!q) return [listConversationsSql(filters, cursor, limit)];
  const hits = await searchHits(q);
  return [searchProbeSql(q), listConversationsSql(filters, cursor, limit, hits)];
}

/** The inbox: newest activity first, filtered, one keyset page at a time. */
export async function listConversations(
  filters: InboxFilters,
  cursor?: string | null,
  limit = DEFAULT_PAGE_SIZE,
): Promise<Page<ConversationSummary & { snippet?: string | null }>> {
  const take = Math.min(Math.max(1, limit), MAX_PAGE_SIZE);
  if (cursor) conversationCursor(cursor); // a bad cursor is a 400 before any work
  const q = filters.q?.trim();
  const hits = q ? await searchHits(q) : undefined;
  if (hits && hits.length === 0) return { items: [], nextCursor: null };
  const rows = await db().$queryRaw<ConversationRow[]>(listConversationsSql(filters, cursor, take + 1, hits));
  const items = rows.slice(0, take).map(toSummary);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > take && last ? conversationCursorAfter(last) : null };
}

export const WAITING_QUEUE_LIMIT = 500;

export function waitingQueueSql(limit: number): Prisma.Sql {
  return Prisma.sql`
    SELECT ${SUMMARY_COLUMNS}
    FROM "Conversation" c LEFT JOIN "StaffUser" s ON s.id = c."assignedStaffId"
    WHERE c.status = 'waiting_for_agent'::"ConversationStatus"
    ORDER BY c."waitingSince" ASC NULLS LAST, c.id ASC
    LIMIT ${limit}`;
}

/** Conversations waiting for an agent, the longest waiting first. */
export async function waitingQueue(limit = WAITING_QUEUE_LIMIT): Promise<ConversationSummary[]> {
  const rows = await db().$queryRaw<ConversationRow[]>(waitingQueueSql(limit));
  return rows.map(toSummary);
}

// ---------------------------------------------------------------------------------------------
// Review queue

/** How unsure the classifier was: the gap between its top two intents (the index uses this very expression). */
const MARGIN = Prisma.sql`(m."intentProbability" - COALESCE(m."runnerUpProbability", 0))`;

export function reviewQueueSql(cursor: string | null | undefined, limit: number): Prisma.Sql {
  const after = cursor
    ? (() => {
        const k = reviewCursor(cursor);
        return Prisma.sql`AND (${MARGIN}, m.id) > (${k.margin}::float8, ${k.id}::uuid)`;
      })()
    : Prisma.empty;
  return Prisma.sql`
    SELECT m.*, ${MARGIN} AS margin, c.status::text AS "conversationStatus",
      (SELECT p.text FROM "Message" p
        WHERE p."conversationId" = m."conversationId" AND p."createdAt" < m."createdAt" AND p.role <> 'customer'
        ORDER BY p."createdAt" DESC LIMIT 1) AS "previousText"
    FROM (
      SELECT m.id, m."conversationId", m.role::text AS role, m.text, m."createdAt", m.intent, m."intentProbability",
        m."runnerUpIntent", m."runnerUpProbability", m."classifierVersion", m.reviewed
      FROM "Message" m
      WHERE m.role = 'customer'::"MessageRole" AND m.reviewed = false AND m."intentProbability" IS NOT NULL ${after}
      ORDER BY ${MARGIN} ASC, m.id ASC
      LIMIT ${limit}
    ) m
    JOIN "Conversation" c ON c.id = m."conversationId"
    ORDER BY margin ASC, m.id ASC`;
}

interface ReviewRow {
  id: string;
  conversationId: string;
  role: StaffMessage["role"];
  text: string;
  createdAt: Date;
  intent: string | null;
  intentProbability: number | null;
  runnerUpIntent: string | null;
  runnerUpProbability: number | null;
  classifierVersion: string | null;
  reviewed: boolean;
  margin: number;
  conversationStatus: ConversationStatus;
  previousText: string | null;
}

/** Customer messages nobody has reviewed, the ones the classifier was least sure about first. */
export async function reviewQueue(cursor?: string | null, limit = DEFAULT_PAGE_SIZE): Promise<Page<ReviewItem>> {
  const take = Math.min(Math.max(1, limit), MAX_PAGE_SIZE);
  const rows = await db().$queryRaw<ReviewRow[]>(reviewQueueSql(cursor, take + 1));
  const items: ReviewItem[] = rows.slice(0, take).map((r) => ({
    message: {
      ...bareStaffMessage({ id: r.id, conversationId: r.conversationId, role: r.role, text: r.text, createdAt: iso(r.createdAt), replyStatus: null }),
      intent: r.intent,
      intentProbability: r.intentProbability,
      runnerUpIntent: r.runnerUpIntent,
      runnerUpProbability: r.runnerUpProbability,
      classifierVersion: r.classifierVersion,
      reviewed: r.reviewed,
    },
    margin: Number(r.margin),
    conversationStatus: r.conversationStatus,
    previousText: r.previousText,
  }));
  const last = rows[take - 1];
  return { items, nextCursor: rows.length > take && last ? encodeCursor([Number(last.margin), last.id]) : null };
}

/** How many customer messages still await review. */
export async function reviewBacklog(): Promise<number> {
  const [row] = await db().$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM "Message" m
    WHERE m.role = 'customer'::"MessageRole" AND m.reviewed = false AND m."intentProbability" IS NOT NULL`;
  return Number(row?.n ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Transcript

/** The newest label first; of two in the same millisecond the correction (as the export decides). */
const LATEST_LABEL = {
  orderBy: [{ createdAt: "desc" }, { source: "desc" }, { id: "desc" }],
  take: 1,
  select: { intent: true, source: true, labeledBy: true, createdAt: true },
} satisfies Prisma.Message$intentLabelsArgs;

const MESSAGE_INCLUDE = {
  intentLabels: LATEST_LABEL,
  authorStaff: { select: { name: true } },
  lmExample: { include: { approvedBy: { select: { email: true } } } },
} satisfies Prisma.MessageInclude;

type MessageWithLabel = Prisma.MessageGetPayload<{ include: typeof MESSAGE_INCLUDE }>;

export function toStaffMessage(m: MessageWithLabel): StaffMessage {
  const label = m.intentLabels[0];
  return {
    id: m.id,
    conversationId: m.conversationId,
    role: m.role,
    text: m.text,
    createdAt: m.createdAt.toISOString(),
    intent: m.intent,
    intentProbability: m.intentProbability,
    runnerUpIntent: m.runnerUpIntent,
    runnerUpProbability: m.runnerUpProbability,
    classifierVersion: m.classifierVersion,
    reviewed: m.reviewed,
    latestLabel: label ? { intent: label.intent, source: label.source, labeledBy: label.labeledBy, createdAt: label.createdAt.toISOString() } : null,
    modelVersion: m.modelVersion,
    timeToFirstTokenMs: m.timeToFirstTokenMs,
    tokenCount: m.tokenCount,
    generationMs: m.generationMs,
    replyStatus: m.replyStatus,
    feedback: m.feedback,
    feedbackBy: m.feedbackBy,
    grounding: groundingOf(m),
    customerHelpful: m.customerHelpful,
    authorName: m.authorStaff?.name ?? null,
    lmExample: m.lmExample ? toStaffLmExample(m.lmExample) : null,
  };
}

/**
 * A conversation with a page of its transcript (oldest first): the newest TRANSCRIPT_PAGE_SIZE
 * messages, or with `before` (the detail's `olderCursor`) the page before those; or null.
 */
export async function conversationDetail(id: string, opts: { before?: string } = {}): Promise<ConversationDetail | null> {
  if (!UUID.test(id)) return null;
  const where = messagesBefore(id, opts.before);
  if (!where) throw invalidCursor();
  const c = await db().conversation.findUnique({
    where: { id },
    include: {
      assignedStaff: { select: { name: true } },
      messages: { where, orderBy: NEWEST_FIRST, take: TRANSCRIPT_PAGE_SIZE + 1, include: MESSAGE_INCLUDE },
    },
  });
  if (!c) return null;
  const page = olderPage(c.messages, TRANSCRIPT_PAGE_SIZE);
  const counts = await db().message.groupBy({ by: ["role"], where: { conversationId: id }, _count: { _all: true } });
  return {
    id: c.id,
    customerId: c.customerId,
    status: c.status,
    createdAt: c.createdAt.toISOString(),
    lastMessageAt: c.lastMessageAt.toISOString(),
    lastMessagePreview: c.lastMessagePreview,
    lastIntent: c.lastIntent,
    minIntentProbability: c.minIntentProbability,
    hasCorrection: c.hasCorrection,
    waitingSince: c.waitingSince?.toISOString() ?? null,
    assignedStaffId: c.assignedStaffId,
    assignedStaffName: c.assignedStaff?.name ?? null,
    rating: c.rating,
    closedAt: c.closedAt?.toISOString() ?? null,
    ratingComment: c.ratingComment,
    messages: page.messages.map(toStaffMessage),
    notes: await listNotes(id),
    olderCursor: page.olderCursor,
    messageCount: counts.reduce((n, r) => n + r._count._all, 0),
    customerMessageCount: counts.find((r) => r.role === "customer")?._count._all ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Labels and feedback

let labelCache: { at: number; labels: string[] } | undefined;
const LABEL_CACHE_MS = 30_000;

/**
 * The intents staff may choose from: the production classifier's labels (from its metrics, the
 * version every server swaps to) and every label of the training examples (an intent added by an
 * import, before a model knows it).
 */
export async function intentLabels(): Promise<string[]> {
  if (labelCache && Date.now() - labelCache.at < LABEL_CACHE_MS) return labelCache.labels;
  const labels = new Set<string>();
  const production = await productionDeployment();
  const metricLabels = production ? versionMetrics(production.model).labels : undefined;
  for (const l of metricLabels ?? []) labels.add(l);
  const examples = await db().$queryRaw<{ label: string }[]>`SELECT DISTINCT label FROM "TrainingExample"`;
  for (const e of examples) labels.add(e.label);
  labelCache = { at: Date.now(), labels: [...labels].sort() };
  return labelCache.labels;
}

/** Forgets the cached label set (tests, or after a deployment). */
export function clearIntentLabelCache(): void {
  labelCache = undefined;
}

/**
 * Stores staff's verdict on a customer message's intent: a confirmation when it is the predicted
 * intent, else a correction. The newest label of a message wins (in the transcript and in the next
 * dataset export). Marks the message reviewed and recomputes the conversation's hasCorrection.
 */
export async function labelMessage(messageId: string, intent: string, staffEmail: string): Promise<StaffMessage> {
  if (!UUID.test(messageId)) throw new ApiError(404, "not_found", "No such message.");
  const allowed = await intentLabels();
  if (!allowed.includes(intent)) {
    clearIntentLabelCache(); // a label added a moment ago deserves a second look
    if (!(await intentLabels()).includes(intent)) throw new ApiError(400, "unknown_intent", `"${intent}" is not an intent of the classifier.`);
  }
  const prisma = db();
  const message = await prisma.$transaction(async (tx) => {
    // Row lock: concurrent labels of one message are applied one after the other.
    const [row] = await tx.$queryRaw<{ role: string; intent: string | null; conversationId: string }[]>`
      SELECT role::text AS role, intent, "conversationId" FROM "Message" WHERE id = ${messageId}::uuid FOR UPDATE`;
    if (!row) throw new ApiError(404, "not_found", "No such message.");
    if (row.role !== "customer") throw new ApiError(409, "not_customer_message", "Only customer messages have an intent to label.");
    await tx.intentLabel.create({
      data: { messageId, intent, source: intent === row.intent ? "confirmed" : "corrected", labeledBy: staffEmail },
    });
    await tx.message.update({ where: { id: messageId }, data: { reviewed: true } });
    // A conversation "has a correction" while the newest label of one of its messages is one.
    await tx.$executeRaw`
      UPDATE "Conversation" c SET "hasCorrection" = EXISTS (
        SELECT 1 FROM "Message" m
        WHERE m."conversationId" = c.id AND m.role = 'customer'::"MessageRole" AND m.reviewed
          AND (SELECT l.source FROM "IntentLabel" l WHERE l."messageId" = m.id
               ORDER BY l."createdAt" DESC, l.source DESC, l.id DESC LIMIT 1) = 'corrected'::"LabelSource")
      WHERE c.id = ${row.conversationId}::uuid`;
    return tx.message.findUniqueOrThrow({ where: { id: messageId }, include: MESSAGE_INCLUDE });
  });
  return toStaffMessage(message);
}

/** Staff's verdict on a bot reply. */
export async function setReplyFeedback(messageId: string, feedback: ReplyFeedback, staffEmail: string): Promise<StaffMessage> {
  if (!UUID.test(messageId)) throw new ApiError(404, "not_found", "No such message.");
  const existing = await db().message.findUnique({ where: { id: messageId }, select: { role: true } });
  if (!existing) throw new ApiError(404, "not_found", "No such message.");
  if (existing.role !== "bot") throw new ApiError(409, "not_bot_message", "Only bot replies take feedback.");
  const m = await db().message.update({ where: { id: messageId }, data: { feedback, feedbackBy: staffEmail }, include: MESSAGE_INCLUDE });
  return toStaffMessage(m);
}
