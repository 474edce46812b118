import { describe, expect, it } from "vitest";
import { extendReply } from "@/lib/protocol/reply-stream";

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
