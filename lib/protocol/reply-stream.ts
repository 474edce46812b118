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

/**
 * One client's live pieces that arrived ahead of the text before them (missed while disconnected),
 * by reply id: `extend` applies them once the gap is filled and keeps the rest waiting.
 */
export class WaitingPieces {
  private readonly byReply = new Map<string, ReplyPiece[]>();

  /** A reply's text extended by its waiting pieces and `more`; what still has a gap before it keeps waiting. */
  extend(messageId: string, text: string, more: ReplyPiece[] = []): string {
    const r = extendReply(text, [...(this.byReply.get(messageId) ?? []), ...more]);
    if (r.waiting.length > 0) this.byReply.set(messageId, r.waiting);
    else this.byReply.delete(messageId);
    return r.text;
  }

  /** Whether a reply has pieces waiting for the text before them. */
  has(messageId: string): boolean {
    return this.byReply.has(messageId);
  }

  /** Forgets a reply's pieces (its final text has arrived). */
  delete(messageId: string): void {
    this.byReply.delete(messageId);
  }
}
