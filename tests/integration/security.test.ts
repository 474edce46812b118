/**
 * Security headers, request size limits and customer-token rotation, through a real server of its own
 * (with a rotated token secret and a configured widget frame-ancestors) and the shared default one.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { signCustomerToken, verifyCustomerToken } from "@/lib/customer-token";
import { ErrorCode, type ChatError } from "@/lib/protocol/errors";
import { connectCustomer, nextEvent, type ChatClient } from "../helpers/chat-client";
import { startServer, type RunningServer } from "../helpers/server";

const databaseUrl = inject("databaseUrl");
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const OLD_SECRET = "old-secret-old-secret-old-secret-old-0123";
const CURRENT_SECRET = "new-secret-new-secret-new-secret-new-4567";
const sockets: ChatClient[] = [];
let server: RunningServer;

async function customer(token?: string) {
  const c = await connectCustomer(server.url, token);
  sockets.push(c.socket);
  return c;
}

function csp(res: Response): Map<string, string> {
  const policy = res.headers.get("content-security-policy") ?? "";
  return new Map(policy.split(";").map((d) => d.trim().split(/\s+(.*)/s).slice(0, 2) as [string, string]));
}

beforeAll(async () => {
  server = await startServer({
    DATABASE_URL: databaseUrl,
    LOOPDESK_MODELS_DIR: inject("modelsDir"),
    LM_MAX_NEW_TOKENS: "4",
    CUSTOMER_TOKEN_SECRET: CURRENT_SECRET,
    CUSTOMER_TOKEN_PREVIOUS_SECRETS: `${OLD_SECRET}, some-other-retired-secret-0123456789abcdef`,
    WIDGET_FRAME_ANCESTORS: "https://shop.example https://*.shop.example",
  });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await server?.stop();
  await pool.end();
});

describe("security headers", () => {
  it("the customer page may not be framed and allows scripts from its own origin only", async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("permissions-policy")).toMatch(/camera=\(\)/);
    const policy = csp(res);
    expect(policy.get("frame-ancestors")).toBe("'none'");
    expect(policy.get("script-src")).toBe("'self' 'unsafe-inline'");
    expect(policy.get("object-src")).toBe("'none'");
    expect(policy.get("connect-src")).toBe("'self'");
  });

  it("the widget page may be framed by the configured sites only", async () => {
    const res = await fetch(`${server.url}/widget`);
    expect(res.status).toBe(200);
    expect(csp(res).get("frame-ancestors")).toBe("https://shop.example https://*.shop.example");
    expect(res.headers.get("x-frame-options")).toBeNull();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("by default the widget may be framed by any site, and nothing else may", async () => {
    const shared = inject("serverUrl");
    expect(csp(await fetch(`${shared}/widget`)).has("frame-ancestors")).toBe(false);
    expect(csp(await fetch(`${shared}/`)).get("frame-ancestors")).toBe("'none'");
  });

  it("staff pages get a per-request nonce that Next puts on its scripts", async () => {
    const nonces: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${server.url}/staff/login`);
      expect(res.status).toBe(200);
      const scriptSrc = csp(res).get("script-src") ?? "";
      expect(scriptSrc).not.toMatch(/unsafe-inline/);
      const nonce = /'nonce-([^']+)'/.exec(scriptSrc)?.[1];
      expect(nonce).toBeTruthy();
      const html = await res.text();
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
      nonces.push(nonce!);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it("API responses carry a deny-all policy and nosniff", async () => {
    const res = await fetch(`${server.url}/api/health`);
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("request size limits", () => {
  const login = (body: BodyInit, extra: RequestInit = {}) =>
    fetch(`${server.url}/api/staff/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.url },
      body,
      ...extra,
    });
  const big = JSON.stringify({ email: "a@example.com", password: "x".repeat(100 * 1024) });

  it("an API body over 64 KB gets 413, announced or streamed", async () => {
    const announced = await login(big);
    expect(announced.status).toBe(413);
    expect(await announced.json()).toMatchObject({ error: { code: "payload_too_large" } });

    const chunks = [big.slice(0, 40_000), big.slice(40_000)];
    const stream = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(new TextEncoder().encode(next));
        else controller.close();
      },
    });
    const streamed = await login(stream, { duplex: "half" } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it("a socket message over 64 KB closes that connection only; nothing is stored and the server carries on", async () => {
    const { socket } = await customer();
    const clientMessageId = randomUUID();
    const closed = nextEvent<string>(socket, "disconnect", () => true, 30_000);
    socket.emit("chat:send", { clientMessageId, text: "x".repeat(100 * 1024) }, () => {});
    expect(await closed).toMatch(/transport (close|error)/);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "Message" WHERE "clientMessageId" = $1`, [clientMessageId]);
    expect(rows[0].n).toBe(0);

    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
    const again = await customer();
    const ack = await again.socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "still there?" });
    expect(ack.ok).toBe(true);
  });
});

describe("customer token rotation", () => {
  it("accepts a token signed with a previous secret and re-issues it under the current one", async () => {
    const customerId = randomUUID();
    const oldToken = signCustomerToken(customerId, OLD_SECRET);
    const { socket, token } = await customer(oldToken);
    expect(token).not.toBe(oldToken);
    expect(verifyCustomerToken(token, CURRENT_SECRET)).toBe(customerId);

    // Same customer under either token: a conversation started with the old one is readable with the new one.
    const sent = await socket.emitWithAck("chat:send", { clientMessageId: randomUUID(), text: "hello" });
    if (!sent.ok) throw new Error(sent.error.code);
    const renewed = await customer(token);
    expect(renewed.token).toBe(token); // a current token is kept as it is
    const history = await renewed.socket.emitWithAck("chat:history", { conversationId: sent.conversationId });
    expect(history.ok).toBe(true);
  });

  it("refuses a token signed with a secret it does not know", async () => {
    const forged = signCustomerToken(randomUUID(), "unknown-secret-unknown-secret-unknown-00");
    const err = await customer(forged).then(
      () => null,
      (e: Error & { data?: ChatError }) => e,
    );
    expect(err?.data?.code).toBe(ErrorCode.invalidToken);
  });
});
