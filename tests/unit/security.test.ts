import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mintCustomerToken, signCustomerToken, verifyRotatedCustomerToken } from "@/lib/customer-token";
import { securityHeaders } from "@/lib/security-headers";

describe("verifyRotatedCustomerToken", () => {
  const current = "c".repeat(32);
  const previous = "p".repeat(32);

  it("says whether a token is signed with the current secret or a previous one", () => {
    const { customerId, token } = mintCustomerToken(current);
    expect(verifyRotatedCustomerToken(token, [current, previous])).toEqual({ customerId, current: true });
    const old = signCustomerToken(customerId, previous);
    expect(verifyRotatedCustomerToken(old, [current, previous])).toEqual({ customerId, current: false });
  });

  it("refuses a token signed with a secret it does not hold", () => {
    expect(verifyRotatedCustomerToken(signCustomerToken(randomUUID(), "x".repeat(32)), [current, previous])).toBeNull();
    expect(verifyRotatedCustomerToken(signCustomerToken(randomUUID(), previous), [current])).toBeNull();
  });
});

describe("securityHeaders", () => {
  const directives = (path: string, ancestors?: string) =>
    securityHeaders(path, ancestors, false).response["Content-Security-Policy"]!.split("; ");

  it("gives dynamic pages a fresh nonce and static customer pages none", () => {
    const a = securityHeaders("/staff/review", undefined, false);
    const b = securityHeaders("/ml/models", undefined, false);
    expect(a.nonce).toBeTruthy();
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.response["Content-Security-Policy"]).toContain(`'nonce-${a.nonce}'`);
    for (const path of ["/", "/widget"]) {
      expect(securityHeaders(path, undefined, false).nonce).toBeUndefined();
      expect(directives(path)).toContain("script-src 'self' 'unsafe-inline'");
    }
  });

  it("lets only the widget be framed, by the configured ancestors or by anyone when unset", () => {
    expect(directives("/widget", "https://shop.example")).toContain("frame-ancestors https://shop.example");
    expect(directives("/widget").some((d) => d.startsWith("frame-ancestors"))).toBe(false);
    expect(securityHeaders("/widget", undefined, false).response["X-Frame-Options"]).toBeUndefined();
    expect(directives("/", "https://shop.example")).toContain("frame-ancestors 'none'");
    expect(securityHeaders("/staff", undefined, false).response["X-Frame-Options"]).toBe("DENY");
  });

  it("allows eval only in development", () => {
    expect(directives("/staff").find((d) => d.startsWith("script-src"))).not.toContain("unsafe-eval");
    expect(securityHeaders("/staff", undefined, true).response["Content-Security-Policy"]).toContain("'unsafe-eval'");
  });
});
