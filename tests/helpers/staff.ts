/** Staff sessions for integration tests: logs in through the real endpoint. */
import { expect } from "vitest";

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
