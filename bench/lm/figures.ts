/** The figures `npm run bench:lm` prints, computed from its streams. Pure, so they are unit-tested. */

export interface Stream {
  question: string;
  /** From sending to the first visible text (served: the first chat:token at the client). */
  ttftMs: number;
  /** From the model's start to its first token (served: the server's own figure for the reply). */
  modelTtftMs: number;
  /** Tokens the model produced, the end-of-sequence token included. */
  tokens: number;
  /** From the model's first token to its last: the time the other tokens took. */
  decodeMs: number;
  /** From sending to the end of the reply. */
  ms: number;
  text: string;
}

/** Nearest-rank percentile; NaN for no values. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

/** Decode speed of one stream: the tokens after the first over the time they took; NaN with fewer than 2 tokens. */
export function decodeTokS(s: Stream): number {
  return s.tokens >= 2 && s.decodeMs > 0 ? (s.tokens - 1) / (s.decodeMs / 1000) : NaN;
}

/** Median decode speed over the streams that have one. */
export function medianDecodeTokS(streams: Stream[]): number {
  return pct(streams.map(decodeTokS).filter(Number.isFinite), 50);
}

/**
 * `a`'s decode speed over `b`'s, from the same streams: each stream of `a` is divided by the stream of
 * `b` for the same question (run right after it, so load from other work on a shared machine weighs on
 * both alike), and the median of those ratios is returned. A ratio of the two sides' medians would
 * divide figures of different streams. Pairs where either side has no decode speed are left out.
 */
export function pairedDecodeRatio(a: Stream[], b: Stream[]): { ratio: number; pairs: number } {
  if (a.length !== b.length) throw new Error(`cannot pair ${a.length} streams with ${b.length}`);
  const ratios: number[] = [];
  a.forEach((s, i) => {
    const t = b[i]!;
    if (s.question !== t.question) throw new Error(`stream ${i} pairs different questions: ${JSON.stringify(s.question)} and ${JSON.stringify(t.question)}`);
    const ratio = decodeTokS(s) / decodeTokS(t);
    if (Number.isFinite(ratio)) ratios.push(ratio);
  });
  return { ratio: pct(ratios, 50), pairs: ratios.length };
}
