/** The request-level pieces of staff auth that need no server: CSRF, cookies, bodies, redirects, roles. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ApiError, cookieValue, csrfFailure, readJson, sessionCookie } from "@/lib/http";
import { homeFor, safeNextPath } from "@/lib/auth/paths";
import { AREA_ROLES, hasRole, type StaffRole } from "@/lib/auth/roles";

const post = (headers: Record<string, string>, url = "http://desk.example/api/x") => new Request(url, { method: "POST", headers });

describe("csrfFailure", () => {
  it("lets reads through and same-host writes", () => {
    expect(csrfFailure(new Request("http://desk.example/api/x"))).toBeNull();
    expect(csrfFailure(post({ host: "desk.example", origin: "http://desk.example" }))).toBeNull();
    expect(csrfFailure(post({ host: "desk.example", referer: "https://desk.example/staff" }))).toBeNull();
  });

  it.each([
    ["no origin", { host: "desk.example" }],
    ["another site", { host: "desk.example", origin: "http://evil.example" }],
    ["a look-alike host", { host: "desk.example", origin: "http://desk.example.evil.example" }],
    ["another port", { host: "desk.example", origin: "http://desk.example:8080" }],
    ["an opaque origin", { host: "desk.example", origin: "null" }],
  ])("refuses a write from %s", async (_, headers) => {
    const res = csrfFailure(post(headers));
    expect(res?.status).toBe(403);
    expect(await res?.json()).toEqual({ error: { code: "csrf", message: expect.any(String) } });
  });
});

describe("cookies", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("reads one cookie out of a header", () => {
    expect(cookieValue("a=1; loopdesk_staff=abc-_; b=2", "loopdesk_staff")).toBe("abc-_");
    expect(cookieValue("xloopdesk_staff=abc", "loopdesk_staff")).toBeUndefined();
    expect(cookieValue(undefined, "loopdesk_staff")).toBeUndefined();
  });

  it("sets HttpOnly and SameSite=Strict, Secure only over https by default", () => {
    const expires = new Date("2030-01-01T00:00:00Z");
    const plain = sessionCookie(new Request("http://desk.example/"), "s", "tok", expires);
    expect(plain).toBe("s=tok; Path=/; HttpOnly; SameSite=Strict; Expires=Tue, 01 Jan 2030 00:00:00 GMT");
    expect(sessionCookie(new Request("https://desk.example/"), "s", "tok", expires)).toContain("; Secure");
    expect(sessionCookie(new Request("http://desk.example/", { headers: { "x-forwarded-proto": "https" } }), "s", "tok", expires)).toContain("; Secure");
    expect(sessionCookie(new Request("http://desk.example/"), "s", null)).toBe("s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  });
});

describe("readJson", () => {
  const schema = z.object({ a: z.number() });
  const chunked = (size: number) =>
    new Request("http://desk.example/", {
      method: "POST",
      // A stream has no Content-Length, so only counting the bytes catches it.
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(`{"a":1,"pad":"${"x".repeat(size)}"}`));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);

  it("parses and validates", async () => {
    expect(await readJson(chunked(10), schema)).toEqual({ a: 1 });
    await expect(readJson(new Request("http://d/", { method: "POST", body: "{" }), schema)).rejects.toMatchObject({ status: 400, code: "invalid_payload" });
    await expect(readJson(new Request("http://d/", { method: "POST", body: '{"a":"1"}' }), schema)).rejects.toMatchObject({ code: "invalid_payload" });
  });

  it("refuses more than 64 KB even without a Content-Length", async () => {
    const err = await readJson(chunked(70_000), schema).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 413, code: "payload_too_large" });
  });
});

describe("where staff land", () => {
  it.each([
    ["/staff/conversations/1?x=1", "/staff/conversations/1?x=1"],
    ["/ml#runs", "/ml#runs"],
    ["/staff/../ml", "/ml"],
    ["/%09/evil.example", "/%09/evil.example"], // still encoded: a path on this site
  ])("follows the local path %j", (next, path) => {
    expect(safeNextPath(next)).toBe(path);
  });

  it.each([
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\t\\evil.example",
    "/.//evil.example",
    "//[x",
    "staff",
    "javascript:alert(1)",
    "",
    null,
    undefined,
  ])("refuses %j", (next) => {
    expect(safeNextPath(next)).toBeNull();
  });

  it("goes home by role", () => {
    expect([homeFor("agent"), homeFor("ml"), homeFor("admin"), homeFor("editor")]).toEqual(["/staff", "/ml", "/staff/admin", "/staff/knowledge"]);
  });
});

describe("hasRole", () => {
  const as = (role: StaffRole) => ({ id: "1", email: "e", name: "n", role });
  it("admits the area's roles, and admins everywhere", () => {
    expect(hasRole(as("agent"), AREA_ROLES.support)).toBe(true);
    expect(hasRole(as("agent"), AREA_ROLES.ml)).toBe(false);
    expect(hasRole(as("ml"), AREA_ROLES.admin)).toBe(false);
    expect(hasRole(as("admin"), ["agent"])).toBe(true);
  });

  it("lets editors into the knowledge base only", () => {
    expect(hasRole(as("editor"), AREA_ROLES.knowledge)).toBe(true);
    expect(hasRole(as("admin"), AREA_ROLES.knowledge)).toBe(true);
    for (const area of [AREA_ROLES.support, AREA_ROLES.ml, AREA_ROLES.admin]) expect(hasRole(as("editor"), area)).toBe(false);
    for (const role of ["agent", "ml"] as const) expect(hasRole(as(role), AREA_ROLES.knowledge)).toBe(false);
  });
});
