/**
 * Staff authentication and authorisation against the real server and database: logins, lockout,
 * session expiry, cookies, CSRF, the admin API, and a role check on every staff API route.
 */
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StaffIdentity, StaffRole } from "@/lib/auth/session";
import { io } from "socket.io-client";
import { connectCustomer } from "../helpers/chat-client";

const serverUrl = inject("serverUrl");
// lib modules read DATABASE_URL when first used, so it is set before they are imported.
process.env.DATABASE_URL = inject("databaseUrl");
const { createStaffUser, SESSION_COOKIE } = await import("@/lib/auth/session");
const { db } = await import("@/lib/db/client");

const pool = new pg.Pool({ connectionString: inject("databaseUrl"), max: 2 });
const PASSWORD = "correct horse battery";
const run = randomUUID().slice(0, 8);

async function newStaff(role: StaffRole, password = PASSWORD): Promise<StaffIdentity> {
  return createStaffUser({ email: `${role}-${randomUUID().slice(0, 8)}-${run}@example.com`, name: `Test ${role}`, role, password });
}

interface Call {
  method?: string;
  body?: unknown;
  cookie?: string;
  /** The Origin header; defaults to the server's own for non-GET requests. null sends none. */
  origin?: string | null;
  headers?: Record<string, string>;
}

async function api(urlPath: string, { method = "GET", body, cookie, origin, headers = {} }: Call = {}) {
  const sent: Record<string, string> = { ...headers };
  if (cookie) sent.cookie = cookie;
  const from = origin === undefined ? (method === "GET" ? null : serverUrl) : origin;
  if (from) sent.origin = from;
  if (body !== undefined) sent["content-type"] = "application/json";
  const res = await fetch(`${serverUrl}${urlPath}`, {
    method,
    headers: sent,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    redirect: "manual",
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // pages answer HTML
  }
  return { status: res.status, json, text, setCookie: res.headers.get("set-cookie"), headers: res.headers };
}

const login = (email: string, password = PASSWORD, extra: Call = {}) => api("/api/staff/auth/login", { method: "POST", body: { email, password }, ...extra });

/** Logs in and returns the Cookie header to send. */
async function session(staff: StaffIdentity): Promise<string> {
  const res = await login(staff.email);
  expect(res.status).toBe(200);
  return res.setCookie!.split(";")[0]!;
}

const tokenOf = (cookie: string) => cookie.slice(cookie.indexOf("=") + 1);
const sessionRow = async (cookie: string) =>
  (await pool.query(`SELECT * FROM "StaffSession" WHERE id = $1`, [createHash("sha256").update(tokenOf(cookie)).digest("hex")])).rows[0];

afterAll(async () => {
  await pool.end();
  await db().$disconnect();
});

describe("login", () => {
  let agent: StaffIdentity;
  beforeAll(async () => (agent = await newStaff("agent")));

  it("logs in with the right password, case-insensitively on the email", async () => {
    const res = await login(agent.email.toUpperCase());
    expect(res.status).toBe(200);
    expect(res.json.staff).toEqual(agent);
    expect(res.json).not.toHaveProperty("staff.passwordHash");
    const me = await api("/api/staff/auth/me", { cookie: res.setCookie!.split(";")[0] });
    expect(me.json).toEqual({ staff: agent });
  });

  it("answers a wrong password and an unknown email alike", async () => {
    const wrong = await login(agent.email, "not the password");
    const unknown = await login(`nobody-${run}@example.com`, "not the password");
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json).toEqual({ error: { code: "invalid_credentials", message: "Wrong email or password." } });
    expect(unknown.json).toEqual(wrong.json);
    expect(wrong.setCookie).toBeNull();
  });

  it("locks the account after 5 failures in a row, answering like a wrong password, until the lock runs out", async () => {
    const victim = await newStaff("agent");
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await login(victim.email, `wrong ${i}`)).json);
    const locked = await login(victim.email); // the right password no longer helps
    const unknown = await login(`nobody-else-${run}@example.com`, "not the password");
    // No enumeration: a locked account answers exactly as a wrong password and an unknown email.
    expect(locked.status).toBe(401);
    expect([...answers, locked.json]).toEqual(Array(6).fill(unknown.json));

    const actions = await pool.query(`SELECT action FROM "AuditLog" WHERE subject = $1`, [victim.id]);
    expect(actions.rows.map((r) => r.action)).toEqual(expect.arrayContaining(["staff.login_failed", "staff.locked"]));

    await pool.query(`UPDATE "StaffUser" SET "lockedUntil" = now() - interval '1 second' WHERE id = $1`, [victim.id]);
    expect((await login(victim.email)).status).toBe(200);
  });

  it("checks at most 5 passwords of a burst of concurrent guesses (the lockout is counted before the check)", async () => {
    const victim = await newStaff("agent");
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => login(victim.email, `wrong guess ${i}`)));
    // Each checked password leaves a wrong_password row; the guesses refused unchecked leave "locked".
    const { rows } = await pool.query(
      `SELECT details->>'reason' AS reason, count(*)::int AS n FROM "AuditLog" WHERE subject = $1 AND action = 'staff.login_failed' GROUP BY 1`,
      [victim.id],
    );
    expect(Object.fromEntries(rows.map((r) => [r.reason, r.n]))).toEqual({ wrong_password: 5, locked: 5 });
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(401));
    const user = await pool.query(`SELECT "lockedUntil" FROM "StaffUser" WHERE id = $1`, [victim.id]);
    expect(user.rows[0].lockedUntil).not.toBeNull();
  });

  it("counts failures in a row only: a success resets the count", async () => {
    const user = await newStaff("ml");
    for (let i = 0; i < 4; i++) await login(user.email, "wrong password");
    expect((await login(user.email)).status).toBe(200);
    const { rows } = await pool.query(`SELECT "failedLogins" FROM "StaffUser" WHERE id = $1`, [user.id]);
    expect(rows[0].failedLogins).toBe(0);
    for (let i = 0; i < 4; i++) await login(user.email, "wrong password");
    expect((await login(user.email)).status).toBe(200);
  });

  it("audits successful logins", async () => {
    const { rows } = await pool.query(`SELECT actor FROM "AuditLog" WHERE action = 'staff.login' AND subject = $1`, [agent.id]);
    expect(rows[0]?.actor).toBe(agent.email);
  });
});

describe("the session cookie", () => {
  it("is HttpOnly, SameSite=Strict, not Secure over plain http, and only its hash is stored", async () => {
    const staff = await newStaff("agent");
    const res = await login(staff.email);
    const attributes = res.setCookie!.split(";").map((a) => a.trim());
    expect(attributes[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}$`));
    expect(attributes).toEqual(expect.arrayContaining(["HttpOnly", "SameSite=Strict", "Path=/"]));
    expect(attributes).not.toContain("Secure");
    const row = await sessionRow(attributes[0]!);
    expect(row.staffUserId).toBe(staff.id);
    expect(row.id).not.toContain(tokenOf(attributes[0]!));
  });

  it("is Secure when the request came over https through a proxy", async () => {
    const staff = await newStaff("agent");
    const res = await login(staff.email, PASSWORD, { headers: { "x-forwarded-proto": "https" } });
    expect(res.setCookie).toContain("Secure");
  });
});

describe("session lifetime", () => {
  let staff: StaffIdentity;
  beforeAll(async () => (staff = await newStaff("agent")));
  const me = (cookie: string) => api("/api/staff/auth/me", { cookie });

  it("ends at expiresAt", async () => {
    const cookie = await session(staff);
    expect((await me(cookie)).status).toBe(200);
    await pool.query(`UPDATE "StaffSession" SET "expiresAt" = now() - interval '1 second' WHERE id = $1`, [(await sessionRow(cookie)).id]);
    const res = await me(cookie);
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("unauthenticated");
    expect(await sessionRow(cookie)).toBeUndefined();
  });

  it("ends after an hour unused, and each use keeps it alive", async () => {
    const cookie = await session(staff);
    const id = (await sessionRow(cookie)).id;
    await pool.query(`UPDATE "StaffSession" SET "lastSeenAt" = now() - interval '50 minutes' WHERE id = $1`, [id]);
    expect((await me(cookie)).status).toBe(200);
    expect(Date.now() - (await sessionRow(cookie)).lastSeenAt.getTime()).toBeLessThan(60_000);

    await pool.query(`UPDATE "StaffSession" SET "lastSeenAt" = now() - interval '61 minutes' WHERE id = $1`, [id]);
    expect((await me(cookie)).status).toBe(401);
  });

  it("an open console's socket does not keep it alive: the idle hour ends it, and the socket is told", async () => {
    const cookie = await session(staff);
    const id = (await sessionRow(cookie)).id;
    const socket = io(`${serverUrl}/staff`, { forceNew: true, transports: ["websocket"], reconnection: false, extraHeaders: { cookie } });
    const ended = new Promise<{ code: string }>((resolve) => socket.on("chat:error", resolve));
    await new Promise<void>((resolve, reject) => socket.on("connect", resolve).on("connect_error", reject));
    // 10 s of the idle hour left: the server re-checks open sockets every 10 s, and must not count that as use.
    await pool.query(`UPDATE "StaffSession" SET "lastSeenAt" = now() - interval '59 minutes 50 seconds' WHERE id = $1`, [id]);
    expect(await ended).toMatchObject({ code: "unauthenticated" });
    socket.disconnect();
    expect((await me(cookie)).status).toBe(401);
  }, 40_000);

  it("ends at logout, which also clears the cookie", async () => {
    const cookie = await session(staff);
    const out = await api("/api/staff/auth/logout", { method: "POST", cookie });
    expect(out.status).toBe(200);
    expect(out.setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`));
    expect(await sessionRow(cookie)).toBeUndefined();
    expect((await me(cookie)).status).toBe(401);
  });
});

describe("CSRF", () => {
  let cookie: string;
  beforeAll(async () => (cookie = await session(await newStaff("admin"))));
  const create = (extra: Call) =>
    api("/api/staff/admin/canned-responses", { method: "POST", cookie, body: { title: "Hello", body: "Hi there!" }, ...extra });

  it("refuses state-changing requests without an Origin or from another site", async () => {
    for (const res of [await create({ origin: null }), await create({ origin: "http://evil.example" })]) {
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe("csrf");
    }
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "CannedResponse" WHERE title = 'Hello'`);
    expect(rows[0].n).toBe(0);
  });

  it("accepts the same origin, or a same-origin Referer when there is no Origin", async () => {
    expect((await create({})).status).toBe(201);
    expect((await create({ origin: null, headers: { referer: `${serverUrl}/staff/admin` } })).status).toBe(201);
  });

  it("protects login and logout too", async () => {
    const staff = await newStaff("agent");
    expect((await login(staff.email, PASSWORD, { origin: "http://evil.example" })).json.error.code).toBe("csrf");
    expect((await api("/api/staff/auth/logout", { method: "POST", cookie, origin: null })).json.error.code).toBe("csrf");
  });
});

describe("request bodies", () => {
  let cookie: string;
  beforeAll(async () => (cookie = await session(await newStaff("admin"))));

  it("rejects more than 64 KB with 413", async () => {
    const res = await api("/api/staff/admin/canned-responses", { method: "POST", cookie, body: { title: "big", body: "x".repeat(70_000) } });
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe("payload_too_large");
  });

  it("rejects malformed and invalid JSON with 400 invalid_payload", async () => {
    for (const body of ["{not json", { title: "" }, { title: "t", body: "b", extra: 1, role: 5 }]) {
      const res = await api("/api/staff/admin/users", { method: "POST", cookie, body });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_payload");
    }
  });
});

describe("administration", () => {
  let admin: StaffIdentity;
  let cookie: string;
  beforeAll(async () => {
    admin = await newStaff("admin");
    cookie = await session(admin);
  });

  it("creates staff, refusing duplicates and weak passwords", async () => {
    const email = `new-agent-${run}@example.com`;
    const created = await api("/api/staff/admin/users", { method: "POST", cookie, body: { email, name: "New Agent", role: "agent", password: PASSWORD } });
    expect(created.status).toBe(201);
    expect(created.json.user).toMatchObject({ email, name: "New Agent", role: "agent" });
    expect(created.json.user).not.toHaveProperty("passwordHash");

    const again = await api("/api/staff/admin/users", { method: "POST", cookie, body: { email, name: "Again", role: "ml", password: PASSWORD } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("email_taken");

    const weak = await api("/api/staff/admin/users", { method: "POST", cookie, body: { email: `weak-${run}@example.com`, name: "W", role: "ml", password: "short" } });
    expect(weak.json.error).toEqual({ code: "invalid_payload", message: "password: The password must be at least 10 characters long." });

    const list = await api("/api/staff/admin/users", { cookie });
    expect(list.json.users.map((u: { email: string }) => u.email)).toContain(email);
    expect(JSON.stringify(list.json)).not.toContain("argon2");

    const { rows } = await pool.query(`SELECT actor FROM "AuditLog" WHERE action = 'staff.user_created' AND subject = $1`, [created.json.user.id]);
    expect(rows[0]?.actor).toBe(admin.email);
  });

  it("changes a role with effect on the next request", async () => {
    const staff = await newStaff("agent");
    const theirs = await session(staff);
    expect((await api("/api/staff/canned-responses", { cookie: theirs })).status).toBe(200);
    const res = await api(`/api/staff/admin/users/${staff.id}`, { method: "PATCH", cookie, body: { role: "ml", name: "Now ML" } });
    expect(res.json.user).toMatchObject({ role: "ml", name: "Now ML" });
    expect((await api("/api/staff/canned-responses", { cookie: theirs })).status).toBe(403);
  });

  it("disabling ends the sessions and refuses logins like a wrong password", async () => {
    const staff = await newStaff("agent");
    const theirs = await session(staff);
    expect((await api(`/api/staff/admin/users/${staff.id}`, { method: "PATCH", cookie, body: { disabled: true } })).status).toBe(200);
    expect((await api("/api/staff/auth/me", { cookie: theirs })).status).toBe(401);
    expect((await login(staff.email)).json.error.code).toBe("invalid_credentials");
  });

  it("a password reset ends the sessions and unlocks the account", async () => {
    const staff = await newStaff("agent");
    const theirs = await session(staff);
    for (let i = 0; i < 5; i++) await login(staff.email, "wrong password");
    const res = await api(`/api/staff/admin/users/${staff.id}`, { method: "PATCH", cookie, body: { password: "a brand new password" } });
    expect(res.json.user).toMatchObject({ lockedUntil: null, failedLogins: 0 });
    expect((await api("/api/staff/auth/me", { cookie: theirs })).status).toBe(401);
    expect((await login(staff.email)).status).toBe(401);
    expect((await login(staff.email, "a brand new password")).status).toBe(200);
  });

  it("an admin cannot demote or disable themselves", async () => {
    for (const body of [{ role: "agent" }, { disabled: true }]) {
      const res = await api(`/api/staff/admin/users/${admin.id}`, { method: "PATCH", cookie, body });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("self_lockout");
    }
  });

  it("answers 404 for unknown staff", async () => {
    for (const id of [randomUUID(), "not-a-uuid"]) {
      const res = await api(`/api/staff/admin/users/${id}`, { method: "PATCH", cookie, body: { name: "X" } });
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
  });

  it("manages canned responses that agents can read", async () => {
    const agentCookie = await session(await newStaff("agent"));
    const created = await api("/api/staff/admin/canned-responses", { method: "POST", cookie, body: { title: "Refund times", body: "Refunds take 5 days." } });
    expect(created.status).toBe(201);
    const id = created.json.cannedResponse.id;
    const changed = await api(`/api/staff/admin/canned-responses/${id}`, { method: "PATCH", cookie, body: { body: "Refunds take 3 days." } });
    expect(changed.json.cannedResponse).toMatchObject({ id, title: "Refund times", body: "Refunds take 3 days." });
    const seen = await api("/api/staff/canned-responses", { cookie: agentCookie });
    expect(seen.json.cannedResponses).toContainEqual(expect.objectContaining({ id, body: "Refunds take 3 days." }));

    expect((await api(`/api/staff/admin/canned-responses/${id}`, { method: "DELETE", cookie })).status).toBe(200);
    expect((await api(`/api/staff/admin/canned-responses/${id}`, { method: "DELETE", cookie })).json.error.code).toBe("not_found");
    const { rows } = await pool.query(`SELECT action FROM "AuditLog" WHERE subject = $1 ORDER BY "createdAt"`, [id]);
    expect(rows.map((r) => r.action)).toEqual(["canned.created", "canned.changed", "canned.deleted"]);
  });
});

/**
 * Every route under app/api/staff and app/api/ml with the roles that may call it. A route added without a row here
 * fails the coverage test below. Allowed callers get anything but 401/403 (the empty or unknown-id
 * requests below change nothing); everyone else 401 (no session) or 403 forbidden.
 */
const ANY_ID = "00000000-0000-4000-8000-000000000000";
const ALL: StaffRole[] = ["agent", "ml", "editor", "admin"];
const SUPPORT: StaffRole[] = ["agent", "admin"];
const ADMIN: StaffRole[] = ["admin"];
const ML: StaffRole[] = ["ml", "admin"];
const KNOWLEDGE: StaffRole[] = ["editor", "admin"];
const ROUTES: { file: string; method: string; url: string; roles: StaffRole[] | "public"; body?: unknown }[] = [
  { file: "staff/auth/login", method: "POST", url: "/api/staff/auth/login", roles: "public" },
  { file: "staff/auth/logout", method: "POST", url: "/api/staff/auth/logout", roles: "public" },
  { file: "staff/auth/me", method: "GET", url: "/api/staff/auth/me", roles: ALL },
  { file: "staff/admin/users", method: "GET", url: "/api/staff/admin/users", roles: ADMIN },
  { file: "staff/admin/users", method: "POST", url: "/api/staff/admin/users", roles: ADMIN },
  { file: "staff/admin/users/[id]", method: "PATCH", url: `/api/staff/admin/users/${ANY_ID}`, roles: ADMIN },
  { file: "staff/admin/customer-data", method: "GET", url: `/api/staff/admin/customer-data?customer=${ANY_ID}`, roles: ADMIN },
  { file: "staff/admin/reports", method: "GET", url: "/api/staff/admin/reports?from=2020-01-01&to=2020-01-01", roles: ADMIN },
  { file: "staff/admin/office-hours", method: "GET", url: "/api/staff/admin/office-hours", roles: ADMIN },
  // An empty body: an allowed caller gets 400 and the office hours stay as they are.
  { file: "staff/admin/office-hours", method: "PUT", url: "/api/staff/admin/office-hours", roles: ADMIN },
  { file: "staff/admin/outbox", method: "GET", url: "/api/staff/admin/outbox", roles: ADMIN },
  { file: "staff/admin/canned-responses", method: "GET", url: "/api/staff/admin/canned-responses", roles: ADMIN },
  { file: "staff/admin/canned-responses", method: "POST", url: "/api/staff/admin/canned-responses", roles: ADMIN },
  { file: "staff/admin/canned-responses/[id]", method: "PATCH", url: `/api/staff/admin/canned-responses/${ANY_ID}`, roles: ADMIN },
  { file: "staff/admin/canned-responses/[id]", method: "DELETE", url: `/api/staff/admin/canned-responses/${ANY_ID}`, roles: ADMIN },
  { file: "staff/canned-responses", method: "GET", url: "/api/staff/canned-responses", roles: SUPPORT },
  { file: "staff/conversations", method: "GET", url: "/api/staff/conversations", roles: SUPPORT },
  { file: "staff/conversations/[id]", method: "GET", url: `/api/staff/conversations/${ANY_ID}`, roles: SUPPORT },
  { file: "staff/queue", method: "GET", url: "/api/staff/queue", roles: SUPPORT },
  { file: "staff/agents", method: "GET", url: "/api/staff/agents", roles: SUPPORT },
  { file: "staff/availability", method: "GET", url: "/api/staff/availability", roles: SUPPORT },
  // An empty body: an allowed caller gets 400 and stays away.
  { file: "staff/availability", method: "PUT", url: "/api/staff/availability", roles: SUPPORT },
  { file: "staff/review", method: "GET", url: "/api/staff/review", roles: SUPPORT },
  { file: "staff/messages/[id]/label", method: "POST", url: `/api/staff/messages/${ANY_ID}/label`, roles: SUPPORT },
  { file: "staff/messages/[id]/feedback", method: "POST", url: `/api/staff/messages/${ANY_ID}/feedback`, roles: SUPPORT },
  { file: "staff/messages/[id]/lm-example", method: "POST", url: `/api/staff/messages/${ANY_ID}/lm-example`, roles: SUPPORT },
  { file: "staff/lm-examples/[id]", method: "PATCH", url: `/api/staff/lm-examples/${ANY_ID}`, roles: SUPPORT },
  { file: "staff/lm-examples/[id]", method: "DELETE", url: `/api/staff/lm-examples/${ANY_ID}`, roles: SUPPORT },
  { file: "ml/data", method: "GET", url: "/api/ml/data", roles: ML },
  { file: "ml/data/import", method: "POST", url: "/api/ml/data/import", roles: ML },
  { file: "ml/data/snapshot", method: "GET", url: "/api/ml/data/snapshot", roles: ML },
  { file: "ml/runs", method: "GET", url: "/api/ml/runs", roles: ML },
  // An invalid device: an allowed caller gets 400 and no run is queued on the shared test server.
  { file: "ml/runs", method: "POST", url: "/api/ml/runs", roles: ML, body: { device: "abacus" } },
  { file: "ml/runs/[id]", method: "GET", url: `/api/ml/runs/${ANY_ID}`, roles: ML },
  { file: "ml/runs/[id]/cancel", method: "POST", url: `/api/ml/runs/${ANY_ID}/cancel`, roles: ML },
  { file: "ml/models", method: "GET", url: "/api/ml/models", roles: ML },
  { file: "ml/models/[version]/comparison", method: "GET", url: "/api/ml/models/no-such-version/comparison", roles: ML },
  { file: "ml/models/[version]/promote", method: "POST", url: "/api/ml/models/no-such-version/promote", roles: ML },
  { file: "ml/models/[version]/lm-gate", method: "GET", url: "/api/ml/models/no-such-version/lm-gate", roles: ML },
  { file: "ml/models/[version]/lm-gate", method: "POST", url: "/api/ml/models/no-such-version/lm-gate", roles: ML },
  { file: "ml/models/rollback", method: "POST", url: "/api/ml/models/rollback", roles: ML, body: { reason: 7 } },
  { file: "ml/audit", method: "GET", url: "/api/ml/audit", roles: ML },
  { file: "ml/production", method: "GET", url: "/api/ml/production", roles: ML },
  { file: "ml/shadow", method: "GET", url: "/api/ml/shadow", roles: ML },
  // An empty body: an allowed caller gets 400 and nothing is put in shadow on the shared test server.
  { file: "ml/shadow", method: "POST", url: "/api/ml/shadow", roles: ML },
  // Nothing is in shadow while this file runs: an allowed caller gets 409 shadow_refused.
  { file: "ml/shadow", method: "DELETE", url: "/api/ml/shadow", roles: ML },
  { file: "ml/shadow/queue/[messageId]/label", method: "POST", url: `/api/ml/shadow/queue/${ANY_ID}/label`, roles: ML },
  { file: "staff/knowledge", method: "GET", url: "/api/staff/knowledge", roles: KNOWLEDGE },
  // An empty article: an allowed caller gets 400 and nothing is stored on the shared test server.
  { file: "staff/knowledge", method: "POST", url: "/api/staff/knowledge", roles: KNOWLEDGE },
  { file: "staff/knowledge/[slug]", method: "GET", url: "/api/staff/knowledge/no-such-article", roles: KNOWLEDGE },
  { file: "staff/knowledge/[slug]", method: "PUT", url: "/api/staff/knowledge/no-such-article", roles: KNOWLEDGE },
  { file: "staff/knowledge/[slug]/diff", method: "GET", url: "/api/staff/knowledge/no-such-article/diff?to=2", roles: KNOWLEDGE },
];
const guarded = ROUTES.flatMap((r) => (r.roles === "public" ? [] : [{ ...r, roles: r.roles }]));

function routeHandlers(): string[] {
  const root = path.resolve("app/api");
  return (readdirSync(root, { recursive: true, encoding: "utf8" }) as string[])
    .filter((f) => path.basename(f) === "route.ts" && /^(staff|ml)\//.test(f.split(path.sep).join("/")))
    .flatMap((f) => {
      const source = readFileSync(path.join(root, f), "utf8");
      const methods = [...source.matchAll(/export\s+(?:const|async\s+function|function)\s+(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\b/g)];
      return methods.map((m) => `${m[1]} ${path.dirname(f).split(path.sep).join("/")}`);
    });
}

describe("role checks on every staff and ML API route", () => {
  const cookies = {} as Record<StaffRole, string>;
  beforeAll(async () => {
    for (const role of ALL) cookies[role] = await session(await newStaff(role));
  });

  it("the table covers every route handler under app/api/staff and app/api/ml", () => {
    expect(ROUTES.map((r) => `${r.method} ${r.file}`).sort()).toEqual(routeHandlers().sort());
  });

  const bodyOf = (r: { method: string; body?: unknown }) => (r.method === "GET" || r.method === "DELETE" ? undefined : (r.body ?? {}));

  it.each(guarded)("$method $file: 401 without a session", async (r) => {
    const res = await api(r.url, { method: r.method, body: bodyOf(r) });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: "unauthenticated", message: expect.any(String) } });
  });

  it.each(guarded)("$method $file: only $roles", async (r) => {
    const { method, url, roles } = r;
    for (const role of ALL) {
      const res = await api(url, { method, cookie: cookies[role], body: bodyOf(r) });
      if (roles.includes(role)) expect([401, 403], `${role} should be allowed`).not.toContain(res.status);
      else expect(res.json?.error?.code, `${role} should be refused`).toBe("forbidden");
    }
  });
});

describe("customers", () => {
  it("never get staff data with their customer token, however it is sent", async () => {
    const { socket, token } = await connectCustomer(serverUrl);
    socket.disconnect();
    const attempts: Call[] = [
      { cookie: `${SESSION_COOKIE}=${token}` },
      { headers: { authorization: `Bearer ${token}` } },
      { cookie: `loopdesk_customer=${token}` },
    ];
    for (const { url, method } of guarded.filter((r) => r.method === "GET")) {
      for (const attempt of attempts) expect((await api(url, { method, ...attempt })).status).toBe(401);
    }
  });
});

describe("staff pages", () => {
  it("send visitors without a session to the login page and back", async () => {
    const res = await api("/staff/admin");
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("/staff/login?next=%2Fstaff%2Fadmin");
  });

  it("refuse the wrong role and show the page to the right one", async () => {
    const denied = await api("/staff/admin", { cookie: await session(await newStaff("agent")) });
    expect(denied.status).toBe(307);
    expect(denied.headers.get("location")).toBe("/staff/login?denied=%2Fstaff%2Fadmin");
    const shown = await api("/staff/admin", { cookie: await session(await newStaff("admin")) });
    expect(shown.status).toBe(200);
    expect(shown.text).toContain("Administration");
  });
});
