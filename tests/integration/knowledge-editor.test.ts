/**
 * The knowledge-base editor through the real server: an editor creates and edits an article, every
 * version is kept with who/when and audited, the diff between versions, a stale save is refused, bad
 * input is refused with nothing stored, other roles are refused; a save is re-indexed at once (a
 * customer's next question is answered from the new version, /help shows it) and a retired article is
 * neither used nor shown.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ReplyGrounding } from "@/lib/protocol/chat";
import type { ArticleForEditor, ArticleSummary, VersionDiff } from "@/lib/knowledge/editor";
import { connectCustomer, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { staffApi, staffLogin, type StaffApiOptions } from "../helpers/staff";

const serverUrl = inject("serverUrl");
// lib modules read DATABASE_URL when first used, so it is set before they are imported.
process.env.DATABASE_URL = inject("databaseUrl");
const { createStaffUser } = await import("@/lib/auth/session");
const { db } = await import("@/lib/db/client");

const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
const PASSWORD = "correct horse battery staple";
const run = randomUUID().slice(0, 8);
const TITLE = `Shipping to Iceland ${run}`;
const SLUG = `shipping-to-iceland-${run}`;
const V1_BODY = "We are getting ready to deliver to Iceland. Check back soon.";
const V2_BODY = "Shipping to Iceland costs a flat $19 per order. Orders to Iceland arrive in 6-8 business days.";
const QUESTION = "How much is shipping to Iceland?";

const sockets: ChatClient[] = [];
const cookies = { editor: "", admin: "", agent: "", ml: "" };
let editorEmail = "";

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pool.end();
  await db().$disconnect();
});

beforeAll(async () => {
  for (const role of ["editor", "admin", "agent", "ml"] as const) {
    const user = await createStaffUser({ email: `kb-${role}-${run}@example.com`, name: `KB ${role}`, role, password: PASSWORD });
    cookies[role] = await staffLogin(serverUrl, user.email, PASSWORD);
    if (role === "editor") editorEmail = user.email;
  }
});

const api = <T = any>(urlPath: string, opts: StaffApiOptions = {}) => staffApi<T>(serverUrl, urlPath, { cookie: cookies.editor, ...opts });

/** The article after a save, or the error that refused it. */
type Saved = ArticleForEditor & { error: { code: string; message: string } };
const save = (slug: string, body: Record<string, unknown>, cookie = cookies.editor) =>
  api<Saved>(`/api/staff/knowledge/${slug}`, { method: "PUT", body, cookie });

async function stored(slug: string) {
  const versions = await pool.query(`SELECT version FROM "KnowledgeArticleVersion" WHERE "articleSlug" = $1`, [slug]);
  const sentences = await pool.query(`SELECT id FROM "KnowledgeSentence" WHERE "articleSlug" = $1`, [slug]);
  return { versions: versions.rowCount, sentences: sentences.rowCount };
}

/** Asks the bot as a new customer; returns the reply and what it was grounded in. */
async function ask(text: string) {
  const { socket } = await connectCustomer(serverUrl);
  sockets.push(socket);
  const reply = await sendAndWait(socket, { clientMessageId: randomUUID(), text });
  if (!reply.ack.ok) throw new Error("send failed");
  const { rows } = await pool.query<{ grounding: ReplyGrounding | null }>(`SELECT grounding FROM "Message" WHERE id = $1`, [reply.messageId]);
  return { reply, grounding: rows[0]!.grounding };
}

describe("knowledge editor", () => {
  it("an editor creates an article and saves a new version; the history records who and when, the audit log each save", async () => {
    const created = await api<ArticleForEditor>("/api/staff/knowledge", { method: "POST", body: { title: TITLE, body: V1_BODY, intent: "shipping_info" } });
    expect(created.status).toBe(201);
    expect(created.json.article).toMatchObject({ slug: SLUG, title: TITLE, body: V1_BODY, intent: "shipping_info", version: 1, retired: false });
    expect(created.json.versions).toEqual([expect.objectContaining({ version: 1, editedBy: editorEmail })]);

    const again = await api("/api/staff/knowledge", { method: "POST", body: { title: TITLE, body: "Another text.", intent: null } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("slug_taken");

    const before = Date.now();
    const saved = await save(SLUG, { title: TITLE, body: V2_BODY, intent: "shipping_info", retired: false, expectedVersion: 1 });
    expect(saved.status).toBe(200);
    expect(saved.json.article).toMatchObject({ version: 2, body: V2_BODY });
    expect(saved.json.versions.map((v) => [v.version, v.editedBy])).toEqual([
      [2, editorEmail],
      [1, editorEmail],
    ]);
    expect(Date.parse(saved.json.versions[0]!.createdAt)).toBeGreaterThanOrEqual(before - 1000);

    const list = await api<{ articles: ArticleSummary[] }>("/api/staff/knowledge");
    expect(list.json.articles.find((a) => a.slug === SLUG)).toMatchObject({ title: TITLE, intent: "shipping_info", version: 2, retired: false, editedBy: editorEmail });
    expect(list.json.articles.find((a) => a.slug === "returns-exchanges-and-refunds")).toMatchObject({ editedBy: "system" });

    const audit = await pool.query(`SELECT actor, action, details FROM "AuditLog" WHERE subject = $1 ORDER BY "createdAt"`, [SLUG]);
    expect(audit.rows.map((r) => [r.actor, r.action, r.details.version])).toEqual([
      [editorEmail, "knowledge.created", 1],
      [editorEmail, "knowledge.saved", 2],
    ]);
  });

  it("shows what changed between a version and the previous one", async () => {
    const diff = await api<VersionDiff>(`/api/staff/knowledge/${SLUG}/diff?to=2`);
    expect(diff.status).toBe(200);
    expect(diff.json.from).toMatchObject({ version: 1, editedBy: editorEmail });
    expect(diff.json.to).toMatchObject({ version: 2, editedBy: editorEmail });
    expect(diff.json.title).toEqual([{ text: TITLE, change: "same" }]);
    const text = (change: string) => diff.json.body.filter((p) => p.change === change).map((p) => p.text).join("");
    // Words, not whole sentences: the spaces and words both versions share are unchanged parts.
    expect(text("added")).toMatch(/19.*business/);
    expect(text("removed")).toMatch(/ready.*soon/);
    // Unchanged and added parts give the new text, unchanged and removed ones the old.
    expect(diff.json.body.filter((p) => p.change !== "removed").map((p) => p.text).join("")).toBe(V2_BODY);
    expect(diff.json.body.filter((p) => p.change !== "added").map((p) => p.text).join("")).toBe(V1_BODY);

    expect((await api(`/api/staff/knowledge/${SLUG}/diff?from=1&to=9`)).status).toBe(404);
    expect((await api(`/api/staff/knowledge/${SLUG}/diff?to=zero`)).json.error.code).toBe("invalid_query");
  });

  it("the help centre shows the current text", async () => {
    const page = await fetch(`${serverUrl}/help/${SLUG}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("$19 per order");
    expect(html).not.toContain("Check back soon");
    expect(await (await fetch(`${serverUrl}/help`)).text()).toContain(TITLE);
  });

  it("after a save, a customer's question is answered from the new version", async () => {
    const { reply, grounding } = await ask(QUESTION);
    expect(reply.sources.map((s) => s.slug)).toContain(SLUG);
    const facts = grounding?.check?.facts.filter((f) => f.article.slug === SLUG) ?? [];
    expect(facts.length).toBeGreaterThan(0);
    for (const f of facts) expect(f.article.version).toBe(2);
    expect(facts.map((f) => f.text).join(" ")).toMatch(/\$19|6-8 business days/);
  });

  it("refuses a save on top of a version someone else saved meanwhile", async () => {
    const stale = await save(SLUG, { title: TITLE, body: "Lost update.", intent: null, retired: false, expectedVersion: 1 });
    expect(stale.status).toBe(409);
    expect(stale.json.error.code).toBe("stale_version");
    expect((await api<ArticleForEditor>(`/api/staff/knowledge/${SLUG}`)).json.article).toMatchObject({ version: 2, body: V2_BODY });
  });

  it("refuses empty, oversized and malformed input with a code, storing nothing", async () => {
    const valid = { title: TITLE, body: V2_BODY, intent: null, retired: false, expectedVersion: 2 };
    const cases: [string, Record<string, unknown>, string, RegExp?][] = [
      ["empty body", { ...valid, body: "  \n " }, "invalid_payload", /article text is empty/],
      ["empty title", { ...valid, title: "" }, "invalid_payload", /title is required/],
      ["title too long", { ...valid, title: "t".repeat(201) }, "invalid_payload", /at most 200/],
      ["body too long", { ...valid, body: "Word. ".repeat(3400) }, "invalid_payload", /at most 20,000/],
      ["control character in the body", { ...valid, body: "Ring the bell\u0007 now." }, "invalid_payload", /control characters/],
      ["line break in the title", { ...valid, title: "Two\nlines" }, "invalid_payload", /line breaks/],
      ["unknown intent", { ...valid, intent: "no_such_intent" }, "unknown_intent"],
      ["no expectedVersion", { ...valid, expectedVersion: undefined }, "invalid_payload"],
      ["unknown field", { ...valid, slug: "elsewhere" }, "invalid_payload"],
      ["wrong type", { ...valid, retired: "yes" }, "invalid_payload"],
    ];
    for (const [name, body, code, message] of cases) {
      const res = await save(SLUG, body);
      expect(res.status, name).toBe(400);
      expect(res.json.error.code, name).toBe(code);
      if (message) expect(res.json.error.message, name).toMatch(message);
    }
    const notJson = await fetch(`${serverUrl}/api/staff/knowledge`, {
      method: "POST",
      headers: { cookie: cookies.editor, origin: serverUrl, "content-type": "application/json" },
      body: "{not json",
    });
    expect(notJson.status).toBe(400);
    for (const body of [{ title: `Empty ${run}`, body: "", intent: null }, { title: "!!!", body: "Text.", intent: null }]) {
      const res = await api("/api/staff/knowledge", { method: "POST", body });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_payload");
    }
    expect(await stored(SLUG)).toEqual({ versions: 2, sentences: 2 });
    expect(await stored(`empty-${run}`)).toEqual({ versions: 0, sentences: 0 });
    expect((await api(`/api/staff/knowledge/no-such-article-${run}`)).status).toBe(404);
    expect((await save(`no-such-article-${run}`, valid)).status).toBe(404);
  });

  it("accepts an article of thousands of sentences and indexes only the first 200", async () => {
    const body = Array.from({ length: 2000 }, (_, i) => `Ok ${i}.`).join(" ");
    const res = await api<ArticleForEditor>("/api/staff/knowledge", { method: "POST", body: { title: `Long notes ${run}`, body, intent: null } });
    expect(res.status).toBe(201);
    expect(res.json.indexing).toEqual({ sentences: 2000, indexed: 200, limit: 200 });
    expect(await stored(res.json.article.slug)).toEqual({ versions: 1, sentences: 200 });
    // Retire it again so that later tests' replies do not draw on these notes.
    expect((await save(res.json.article.slug, { title: `Long notes ${run}`, body, intent: null, retired: true, expectedVersion: 1 })).status).toBe(200);
  });

  it("a retired article is marked in the list and no longer used for replies", async () => {
    const retired = await save(SLUG, { title: TITLE, body: V2_BODY, intent: "shipping_info", retired: true, expectedVersion: 2 });
    expect(retired.status).toBe(200);
    expect(retired.json.article).toMatchObject({ version: 3, retired: true });
    const list = await api<{ articles: ArticleSummary[] }>("/api/staff/knowledge");
    expect(list.json.articles.find((a) => a.slug === SLUG)).toMatchObject({ version: 3, retired: true });
    expect(await stored(SLUG)).toEqual({ versions: 3, sentences: 0 });
    expect((await fetch(`${serverUrl}/help/${SLUG}`)).status).toBe(404);
    expect(await (await fetch(`${serverUrl}/help`)).text()).not.toContain(TITLE);

    const { reply, grounding } = await ask(QUESTION);
    expect(reply.sources.map((s) => s.slug)).not.toContain(SLUG);
    expect(grounding?.check?.facts.some((f) => f.article.slug === SLUG) ?? false).toBe(false);
  });

  it("admins may edit; agents and ML staff are refused, and editors see no other console", async () => {
    expect((await api("/api/staff/knowledge", { cookie: cookies.admin })).status).toBe(200);
    for (const role of ["agent", "ml"] as const) {
      const cookie = cookies[role];
      expect((await api("/api/staff/knowledge", { cookie })).status, role).toBe(403);
      expect((await api(`/api/staff/knowledge/${SLUG}`, { cookie })).status, role).toBe(403);
      expect((await api(`/api/staff/knowledge/${SLUG}/diff?to=2`, { cookie })).status, role).toBe(403);
      const create = await api("/api/staff/knowledge", { cookie, method: "POST", body: { title: `By ${role} ${run}`, body: "Text.", intent: null } });
      expect(create.status, role).toBe(403);
      expect(create.json.error.code, role).toBe("forbidden");
      const edit = await save(SLUG, { title: TITLE, body: "Text.", intent: null, retired: false, expectedVersion: 3 }, cookie);
      expect(edit.status, role).toBe(403);
    }
    expect(await stored(SLUG)).toEqual({ versions: 3, sentences: 0 });
    expect((await api("/api/staff/knowledge", { cookie: "" })).status).toBe(401);
    expect((await api("/api/staff/knowledge", { method: "POST", origin: null, body: { title: `No origin ${run}`, body: "Text.", intent: null } })).json.error.code).toBe("csrf");
    for (const path of ["/api/staff/conversations", "/api/staff/queue", "/api/staff/admin/users", "/api/ml/runs"]) {
      expect((await api(path)).status, path).toBe(403);
    }
  });

  it("editors get the knowledge pages and are turned away from the other consoles", async () => {
    const page = (path: string) => fetch(`${serverUrl}${path}`, { headers: { cookie: cookies.editor }, redirect: "manual" });
    const list = await page("/staff/knowledge");
    expect(list.status).toBe(200);
    expect(await list.text()).toContain(TITLE);
    expect((await page(`/staff/knowledge/${SLUG}`)).status).toBe(200);
    for (const path of ["/staff", "/staff/admin", "/ml"]) {
      const res = await page(path);
      expect(res.status, path).toBe(307);
      expect(res.headers.get("location"), path).toContain("denied=");
    }
  });
});
