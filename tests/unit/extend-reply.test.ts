import { describe, expect, it } from "vitest";
import { extendReply, WaitingPieces } from "@/lib/protocol/reply-stream";

describe("extendReply: merging live pieces of a reply by offset", () => {
  it("appends pieces in order", () => {
    expect(extendReply("", [{ offset: 0, text: "Hello" }, { offset: 5, text: " there" }])).toEqual({ text: "Hello there", waiting: [] });
  });

  it("skips what the client already has from the stored text, and takes only the new part of an overlap", () => {
    const stored = "Hello the";
    expect(extendReply(stored, [{ offset: 0, text: "Hello" }, { offset: 5, text: " there" }, { offset: 11, text: "!" }])).toEqual({ text: "Hello there!", waiting: [] });
  });

  it("holds a piece beyond the end until the gap before it is filled, in any arrival order", () => {
    // The reply is "Hi there you"; this client missed " there" (offset 2).
    const first = extendReply("Hi", [{ offset: 8, text: " you" }]);
    expect(first).toEqual({ text: "Hi", waiting: [{ offset: 8, text: " you" }] });
    expect(extendReply("Hi the", first.waiting)).toEqual({ text: "Hi the", waiting: first.waiting });
    expect(extendReply("Hi there", first.waiting)).toEqual({ text: "Hi there you", waiting: [] });
  });
});

describe("WaitingPieces: a client's pieces held per reply until the text before them arrives", () => {
  it("keeps a piece past a gap for its reply only, and applies it once the stored text fills the gap", () => {
    const pieces = new WaitingPieces();
    expect(pieces.extend("a", "Hi", [{ offset: 8, text: " you" }])).toBe("Hi");
    expect(pieces.has("a")).toBe(true);
    expect(pieces.extend("b", "Other")).toBe("Other");
    expect(pieces.has("b")).toBe(false);
    expect(pieces.extend("a", "Hi there")).toBe("Hi there you");
    expect(pieces.has("a")).toBe(false);
  });

  it("forgets a reply's pieces on delete", () => {
    const pieces = new WaitingPieces();
    pieces.extend("a", "", [{ offset: 3, text: "x" }]);
    pieces.delete("a");
    expect(pieces.extend("a", "abc")).toBe("abc");
  });
});
