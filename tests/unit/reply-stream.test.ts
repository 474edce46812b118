import { describe, expect, it } from "vitest";
import { holdingWhitespace } from "@/lib/chat/replies";

/** The pieces sent for these model outputs, each with the whole text streamed so far. */
function stream(pieces: string[]): [string, string][] {
  const sent: [string, string][] = [];
  const onText = holdingWhitespace((text, streamed) => sent.push([text, streamed]));
  for (const p of pieces) onText(p);
  return sent;
}

describe("holdingWhitespace", () => {
  it("drops leading whitespace and holds trailing whitespace until text follows it", () => {
    expect(stream(["  ", "\nHello", " ", "", "world", "  \n"])).toEqual([
      ["Hello", "Hello"],
      [" world", "Hello world"],
    ]);
  });
  it("sends nothing for a reply of whitespace only", () => {
    expect(stream([" ", "\n\n", "\t"])).toEqual([]);
  });
  it("streams exactly the trimmed text, piece by piece", () => {
    const pieces = ["\n", "The", " order", " ships", " today", ".", "\n\n"];
    const sent = stream(pieces);
    expect(sent.map(([text]) => text).join("")).toBe(pieces.join("").trim());
    expect(sent.at(-1)![1]).toBe(pieces.join("").trim());
  });
});
