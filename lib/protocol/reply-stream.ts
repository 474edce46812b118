/**
 * How a client assembles a streaming reply from `chat:token` pieces, by offset. Shared by the
 * customer's chat client and the staff console's live transcript.
 */

/** A live piece of a streaming reply: `text` starts at `offset` (UTF-16 code units) of the reply's text. */
export interface ReplyPiece {
  offset: number;
  text: string;
}

/**
 * Extends the text a client has of a reply with live pieces, by offset: what it already has is
 * skipped (no duplicates after a reconnect replayed the stored text) and a piece beyond its end waits
 * (no gaps) until the text before it arrives, from another piece or the stored history.
 */
export function extendReply(text: string, pieces: ReplyPiece[]): { text: string; waiting: ReplyPiece[] } {
  const waiting: ReplyPiece[] = [];
  for (const p of [...pieces].sort((a, b) => a.offset - b.offset)) {
    if (p.offset > text.length) waiting.push(p);
    else if (p.offset + p.text.length > text.length) text += p.text.slice(text.length - p.offset);
  }
  return { text, waiting };
}
