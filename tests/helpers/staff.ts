/** Staff sessions, API calls and /staff sockets for integration tests: logs in through the real endpoint. */
import { io, type Socket } from "socket.io-client";
import { expect } from "vitest";
import type { ServerToStaffEvents, StaffToServerEvents } from "@/lib/protocol/staff";

/** Returns the Cookie header the server set for this staff member's session. */
export async function staffLogin(serverUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${serverUrl}/api/staff/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: serverUrl },
    body: JSON.stringify({ email, password }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  expect(cookie).toMatch(/=/);
  return cookie;
}

/**
 * A staff API call as the browser makes it: the session cookie, and an Origin of this site on
 * state-changing requests (the CSRF check) unless `origin` says otherwise (null: none).
 */
export interface StaffApiOptions {
  cookie?: string;
  method?: string;
  body?: unknown;
  origin?: string | null;
}

/** `text` is the raw body (for failure messages); `json` its parse, or null when it is not JSON. */
export async function staffApi<T = any>(serverUrl: string, urlPath: string, opts: StaffApiOptions = {}): Promise<{ status: number; json: T; text: string }> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.cookie = opts.cookie;
  const origin = opts.origin === undefined ? (method === "GET" ? null : serverUrl) : opts.origin;
  if (origin) headers.origin = origin;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${serverUrl}${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), redirect: "manual" });
  const text = await res.text();
  let json: T | null = null;
  try {
    json = JSON.parse(text) as T;
  } catch {
    // not JSON
  }
  return { status: res.status, json: json as T, text };
}

/** A /staff socket of a logged-in staff member (websocket only, no reconnection), once connected. */
export function connectStaff(serverUrl: string, cookie: string): Promise<Socket<ServerToStaffEvents, StaffToServerEvents>> {
  const socket: Socket<ServerToStaffEvents, StaffToServerEvents> = io(`${serverUrl}/staff`, {
    transports: ["websocket"],
    reconnection: false,
    // A connection of its own: socket.io-client would otherwise multiplex onto a cached connection to
    // the same server (a customer's, made without this cookie).
    forceNew: true,
    extraHeaders: { cookie },
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}
