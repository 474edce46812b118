import { describe, expect, it } from "vitest";
import { ErrorCode, parsePayload } from "@/lib/protocol/errors";
import { MAX_MESSAGE_CHARS, sendSchema, validateText } from "@/lib/protocol/chat";
import { mintCustomerToken, verifyCustomerToken } from "@/lib/customer-token";

describe("validateText", () => {
  it.each([
    ["", ErrorCode.emptyText],
    ["   \n\t ", ErrorCode.emptyText],
    ["x".repeat(MAX_MESSAGE_CHARS + 1), ErrorCode.textTooLong],
    ["bad \uD800 surrogate", ErrorCode.invalidPayload],
  ])("refuses %j with %s", (text, code) => {
    const r = validateText(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it("trims, drops control characters and keeps newlines", () => {
    expect(validateText("  hi\u0000 there\nbye \u0007 ")).toEqual({ ok: true, text: "hi there\nbye" });
    expect(validateText("x".repeat(MAX_MESSAGE_CHARS))).toMatchObject({ ok: true });
  });
});

describe("parsePayload", () => {
  it.each([
    [null],
    ["text"],
    [{ text: "hi" }],
    [{ clientMessageId: 5, text: "hi" }],
    [{ clientMessageId: "a", text: 42 }],
    [{ clientMessageId: "a", text: "hi", conversationId: "not-a-uuid" }],
    [{ clientMessageId: "x".repeat(101), text: "hi" }],
  ])("refuses %j as invalid_payload", (payload) => {
    const r = parsePayload(sendSchema, payload);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(ErrorCode.invalidPayload);
  });

  it("accepts a well-formed send", () => {
    expect(parsePayload(sendSchema, { clientMessageId: "m1", text: "hi" })).toEqual({
      ok: true,
      value: { clientMessageId: "m1", text: "hi" },
    });
  });
});

describe("customer tokens", () => {
  const secret = "s".repeat(32);
  it("verifies its own tokens and refuses forged or altered ones", () => {
    const { customerId, token } = mintCustomerToken(secret);
    expect(verifyCustomerToken(token, secret)).toBe(customerId);
    expect(verifyCustomerToken(token, "t".repeat(32))).toBeNull();
    const other = mintCustomerToken(secret);
    const spliced = `v1.${other.customerId}.${token.split(".")[2]}`;
    expect(verifyCustomerToken(spliced, secret)).toBeNull();
    for (const bad of ["", "v1", "v1..", "v2." + token.slice(3), 42, null, "x".repeat(500)]) {
      expect(verifyCustomerToken(bad, secret)).toBeNull();
    }
  });
});
