/**
 * Staff editing of the help-centre knowledge base, behind the /api/staff/knowledge routes and the
 * console's pages: validation, slugs, saving a version (audited, and re-indexed here before the save
 * returns; lib/db/knowledge.ts tells the other servers), and what changed between two versions.
 */
import { diffWordsWithSpace } from "diff";
import { z } from "zod";
import { ApiError } from "../http";
import type { StaffIdentity } from "../auth/roles";
import { intentLabels } from "../db/inbox";
import { allArticles, articleVersions, findArticle, findArticleVersion, saveArticle } from "../db/knowledge";
import { audit } from "../db/audit";
import { MAX_BODY_CHARS, MAX_TITLE_CHARS } from "./article-limits";
import { reindexKnowledgeNow } from "../models/registry";
import { articleSentences, MAX_SENTENCES_PER_ARTICLE, splitSentences } from "../sentences";

// Tabs and line breaks lay out a body; every other control character is refused (titles are one line).
const BODY_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const TITLE_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const articleFields = {
  title: z
    .string()
    .trim()
    .min(1, "The title is required.")
    .max(MAX_TITLE_CHARS, `The title may be at most ${MAX_TITLE_CHARS} characters long.`)
    .refine((t) => !TITLE_CONTROL.test(t), "The title may not contain line breaks or control characters."),
  body: z
    .string()
    .trim()
    .min(1, "The article text is empty: write at least one sentence.")
    .max(MAX_BODY_CHARS, `The article text may be at most ${MAX_BODY_CHARS.toLocaleString("en")} characters long.`)
    .refine((b) => !BODY_CONTROL.test(b), "The article text may not contain control characters."),
  /** The intent whose replies prefer this article; null for none. */
  intent: z.string().max(100).nullable(),
};

export const newArticleSchema = z.object(articleFields).strict();

export const articleSaveSchema = z
  .object({
    ...articleFields,
    retired: z.boolean(),
    /** The version the editor started from: a save on top of a newer one is refused (409 stale_version). */
    expectedVersion: z.number().int().min(1),
  })
  .strict();

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_SLUG_CHARS = 80;

/** The article's address in /help/<slug>: the title's letters and digits, accents dropped, joined by dashes. */
export function slugFromTitle(title: string): string {
  return title
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, MAX_SLUG_CHARS)
    .replace(/^-+|-+$/g, "");
}

/** A slug from a path; anything that no title could produce cannot exist. */
export function parseSlug(slug: string): string {
  if (slug.length > MAX_SLUG_CHARS || !SLUG.test(slug)) throw new ApiError(404, "not_found", "No such article.");
  return slug;
}

/** How much of a body retrieval indexes: sentences past the limit, or too long to quote, are not used. */
function indexedSentences(body: string) {
  return { sentences: splitSentences(body).length, indexed: articleSentences(body).length, limit: MAX_SENTENCES_PER_ARTICLE };
}

/** The console's list: every article, retired ones marked, with who saved the current version and when. */
export async function listArticles() {
  return (await allArticles()).map((a) => ({
    slug: a.slug,
    title: a.title,
    intent: a.intent,
    version: a.version,
    retired: a.retiredAt !== null,
    editedBy: a.versions[0]?.editedBy ?? null,
    editedAt: a.versions[0]?.createdAt.toISOString() ?? null,
  }));
}

export type ArticleSummary = Awaited<ReturnType<typeof listArticles>>[number];

/** One article for its editor: the current text, how much of it retrieval indexes, and its history. */
export async function articleForEditor(slug: string) {
  const [article, versions] = await Promise.all([findArticle(slug), articleVersions(slug)]);
  if (!article) throw new ApiError(404, "not_found", "No such article.");
  return {
    article: { slug: article.slug, title: article.title, body: article.body, intent: article.intent, version: article.version, retired: article.retiredAt !== null },
    indexing: indexedSentences(article.body),
    versions: versions.map((v) => ({ version: v.version, title: v.title, intent: v.intent, retired: v.retired, editedBy: v.editedBy, createdAt: v.createdAt.toISOString() })),
  };
}

export type ArticleForEditor = Awaited<ReturnType<typeof articleForEditor>>;

async function checkIntent(intent: string | null): Promise<void> {
  if (intent !== null && !(await intentLabels()).includes(intent)) {
    throw new ApiError(400, "unknown_intent", `"${intent}" is not an intent the classifier knows.`);
  }
}

export async function createArticle(actor: StaffIdentity, input: z.output<typeof newArticleSchema>) {
  const slug = slugFromTitle(input.title);
  if (!slug) throw new ApiError(400, "invalid_payload", "title: The title needs at least one letter or digit (a-z, 0-9) for the article's address.");
  await checkIntent(input.intent);
  const article = await saveArticle(slug, { ...input, retired: false }, actor.email, null);
  if (!article) throw new ApiError(409, "slug_taken", `An article at /help/${slug} already exists: edit it, or choose another title.`);
  await audit(actor.email, "knowledge.created", slug, { version: article.version, title: article.title });
  await reindexKnowledgeNow();
  return article;
}

export async function saveArticleVersion(actor: StaffIdentity, slug: string, input: z.output<typeof articleSaveSchema>) {
  if (!(await findArticle(slug))) throw new ApiError(404, "not_found", "No such article.");
  await checkIntent(input.intent);
  const { expectedVersion, ...fields } = input;
  const article = await saveArticle(slug, fields, actor.email, expectedVersion);
  if (!article) {
    throw new ApiError(409, "stale_version", `Someone saved this article after version ${expectedVersion}: reload it, then make your change again.`);
  }
  await audit(actor.email, "knowledge.saved", slug, { version: article.version, title: article.title, retired: fields.retired });
  await reindexKnowledgeNow();
  return article;
}

export interface DiffPart {
  text: string;
  change: "added" | "removed" | "same";
}

// Two unrelated 20,000-character texts take seconds to diff by word, blocking the server meanwhile;
// past this the whole old text is shown as removed and the new one as added.
const DIFF_TIMEOUT_MS = 250;

function wordDiff(before: string, after: string): DiffPart[] {
  const changes = diffWordsWithSpace(before, after, { timeout: DIFF_TIMEOUT_MS });
  if (!changes) return [{ text: before, change: "removed" }, { text: after, change: "added" }];
  return changes.map((c) => ({ text: c.value, change: c.added ? "added" : c.removed ? "removed" : "same" }));
}

/** What changed from version `from` to version `to` of an article: word diffs of title and body. */
export async function versionDiff(slug: string, from: number, to: number) {
  const [before, after] = await Promise.all([findArticleVersion(slug, from), findArticleVersion(slug, to)]);
  if (!before || !after) throw new ApiError(404, "not_found", "No such version of this article.");
  const meta = (v: typeof before) => ({ version: v.version, intent: v.intent, retired: v.retired, editedBy: v.editedBy, createdAt: v.createdAt.toISOString() });
  return { from: meta(before), to: meta(after), title: wordDiff(before.title, after.title), body: wordDiff(before.body, after.body) };
}

export type VersionDiff = Awaited<ReturnType<typeof versionDiff>>;
