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

  // Python's str.isspace() set: [c for c in map(chr, range(0x110000)) if c.isspace()]. The trainer
  // refuses a snapshot row whose text.strip() is empty, so none of these may survive at either end.
  const pythonWhitespace = [
    "\t", "\n", "\v", "\f", "\r", "\x1c", "\x1d", "\x1e", "\x1f", " ", "\x85", "\xa0", "\u1680",
    "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009",
    "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
  ];
  it.each(pythonWhitespace.map((c) => [c.codePointAt(0)!.toString(16), c]))(
    "refuses U+%s alone and trims it from both ends, as Python's strip() does",
    (_, c) => {
      expect(validateText(c)).toMatchObject({ ok: false, error: { code: ErrorCode.emptyText } });
      expect(validateText(`${c}${c}hi${c}`)).toEqual({ ok: true, text: "hi" });
    },
  );

  it("drops C1 controls such as NEL inside the text and turns line/paragraph separators into newlines", () => {
    expect(validateText("a\u0085b\u009fc")).toEqual({ ok: true, text: "abc" });
    expect(validateText("one\u2028two\u2029three")).toEqual({ ok: true, text: "one\ntwo\nthree" });
    expect(validateText("tab\there\r\nnext")).toEqual({ ok: true, text: "tab\there\r\nnext" });
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
