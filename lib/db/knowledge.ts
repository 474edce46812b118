/**
 * The help-centre knowledge base: articles, their saved versions, and their sentences (the unit
 * retrieval ranks; full-text search runs here). Every save bumps the article's version, keeps the
 * text, rewrites its sentences and tells every server to re-index (NOTIFY).
 */
import { articleSentences } from "../sentences";
import type { Prisma } from "../generated/prisma/client";
import { db } from "./client";
import { notify } from "./listen";

export const KNOWLEDGE_CHANNEL = "loopdesk_knowledge";

export interface ArticleInput {
  title: string;
  body: string;
  intent: string | null;
  retired: boolean;
}

/** The articles replies may use and the help centre shows. */
export async function liveArticles() {
  return db().knowledgeArticle.findMany({ where: { retiredAt: null }, orderBy: { title: "asc" } });
}

/** Every article, retired ones included, with who saved its current version and when, for staff. */
export async function allArticles() {
  return db().knowledgeArticle.findMany({
    orderBy: [{ retiredAt: { sort: "asc", nulls: "first" } }, { title: "asc" }],
    include: { versions: { orderBy: { version: "desc" }, take: 1, select: { editedBy: true, createdAt: true } } },
  });
}

export async function findArticle(slug: string) {
  return db().knowledgeArticle.findUnique({ where: { slug } });
}

/** An article's history, newest first, without the texts (an article may have many long versions). */
export async function articleVersions(slug: string) {
  return db().knowledgeArticleVersion.findMany({ where: { articleSlug: slug }, orderBy: { version: "desc" }, omit: { body: true } });
}

export async function findArticleVersion(slug: string, version: number) {
  return db().knowledgeArticleVersion.findUnique({ where: { articleSlug_version: { articleSlug: slug, version } } });
}

/** The statements that replace an article's sentences (none when it is retired). */
function writeSentences(tx: Prisma.TransactionClient, slug: string, body: string, retired: boolean) {
  // Ids as lib/knowledge/retrieve.ts `factId` makes them, so full-text ranks meet the encoder's.
  const sentences = retired ? [] : articleSentences(body);
  return [
    tx.knowledgeSentence.deleteMany({ where: { articleSlug: slug } }),
    tx.knowledgeSentence.createMany({ data: sentences.map((text, position) => ({ id: `${slug}#${position}`, articleSlug: slug, position, text })) }),
  ];
}

/**
 * Creates an article (when `slug` is new) or saves a new version of it, in one transaction with its
 * sentences, then tells every server. Returns the saved article, or null when `expectedVersion` is
 * stale (someone else saved meanwhile).
 */
export async function saveArticle(slug: string, input: ArticleInput, editedBy: string, expectedVersion: number | null) {
  const saved = await db().$transaction(async (tx) => {
    const current = await tx.knowledgeArticle.findUnique({ where: { slug } });
    if ((current?.version ?? null) !== expectedVersion) return null;
    const version = (current?.version ?? 0) + 1;
    const fields = { title: input.title, body: input.body, intent: input.intent, version, retiredAt: input.retired ? (current?.retiredAt ?? new Date()) : null };
    const article = current
      ? await tx.knowledgeArticle.update({ where: { slug }, data: fields })
      : await tx.knowledgeArticle.create({ data: { slug, ...fields } });
    await tx.knowledgeArticleVersion.create({
      data: { articleSlug: slug, version, title: input.title, body: input.body, intent: input.intent, retired: input.retired, editedBy },
    });
    for (const statement of writeSentences(tx, slug, input.body, input.retired)) await statement;
    return article;
  });
  if (saved) await notifyKnowledgeChanged();
  return saved;
}

/**
 * Ships the seed articles that are not in the database yet (staff edits are kept), with their sentences;
 * in the caller's transaction, which holds the seeding lock (lib/db/seed.ts).
 */
export async function seedArticles(tx: Prisma.TransactionClient, articles: { slug: string; intent: string | null; title: string; body: string }[]) {
  await tx.knowledgeArticle.createMany({ data: articles.map((a) => ({ ...a, version: 1 })), skipDuplicates: true });
  await tx.$executeRaw`
    INSERT INTO "KnowledgeArticleVersion" (id, "articleSlug", version, title, body, intent, "editedBy")
    SELECT gen_random_uuid(), a.slug, a.version, a.title, a.body, a.intent, 'system' FROM "KnowledgeArticle" a
    WHERE NOT EXISTS (SELECT 1 FROM "KnowledgeArticleVersion" v WHERE v."articleSlug" = a.slug)`;
  // Articles without sentences yet (new, or from before sentences were stored) get theirs.
  const missing = await tx.knowledgeArticle.findMany({ where: { retiredAt: null, sentences: { none: {} } } });
  for (const a of missing) for (const statement of writeSentences(tx, a.slug, a.body, false)) await statement;
}

/**
 * Lexical rank of the live sentences for a message: Okapi BM25 (k1 = 1.2, b = 0.75) over Postgres's
 * English stems, scaled to 0..1 (best = 1). Any of the message's words may match (a customer's question
 * rarely shares all its words with the answer), each weighted by how rare it is among the sentences: a
 * word few sentences use ("guest") tells more than one most use ("order"), which plain ts_rank ignores.
 */
export async function rankSentencesByText(message: string): Promise<Map<string, number>> {
  const words = (message.toLowerCase().match(/[a-z0-9]+/g) ?? []).slice(0, 32);
  if (words.length === 0) return new Map();
  const rows = await db().$queryRaw<{ id: string; score: number }[]>`
    WITH terms AS (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', ${words.join(" ")})) AS t(lexeme, positions, weights)),
    q AS (SELECT to_tsquery('english', array_to_string(ARRAY(SELECT lexeme FROM terms), ' | ')) AS query),
    corpus AS (SELECT count(*)::float8 AS n, avg(length("searchVector"))::float8 AS avglen FROM "KnowledgeSentence"),
    hits AS (
      SELECT s.id, length(s."searchVector")::float8 AS len, t.lexeme, coalesce(array_length(t.positions, 1), 1)::float8 AS tf
      FROM "KnowledgeSentence" s, q, unnest(s."searchVector") AS t(lexeme, positions, weights)
      WHERE q.query::text <> '' AND s."searchVector" @@ q.query AND t.lexeme IN (SELECT lexeme FROM terms)),
    idf AS (SELECT lexeme, ln(1 + (corpus.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf FROM hits, corpus GROUP BY lexeme, corpus.n)
    SELECT hits.id, sum(idf.idf * hits.tf * 2.2 / (hits.tf + 1.2 * (0.25 + 0.75 * hits.len / corpus.avglen)))::float8 AS score
    FROM hits JOIN idf USING (lexeme), corpus
    GROUP BY hits.id ORDER BY score DESC LIMIT 50`;
  const best = rows[0]?.score ?? 0;
  return new Map(rows.map((r) => [r.id, best > 0 ? r.score / best : 0]));
}

export async function notifyKnowledgeChanged(): Promise<void> {
  await notify(KNOWLEDGE_CHANNEL, "");
}
