/**
 * Sentence boundaries, for knowledge-base articles (the unit retrieval ranks) and for replies (the unit
 * the checker judges and the stream releases). Pure. A boundary is . ! or ? followed by a space and a
 * capital letter, digit or quote, or the end of the text; common abbreviations do not end a sentence.
 */
const ABBREVIATIONS = /(?:\b(?:e\.g|i\.e|etc|vs|approx|incl|no|nr|dept|mr|mrs|ms|dr|st)\.)$/i;
const BOUNDARY = /[.!?]+["')\]]*(?=\s+["'(\[]?[A-Z0-9])|[.!?]+["')\]]*\s*$/g;

/** Splits a text into trimmed sentences; a trailing fragment without an end mark is kept as the last one. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (const match of text.matchAll(BOUNDARY)) {
    const end = match.index + match[0].length;
    const candidate = text.slice(start, end).trim();
    if (ABBREVIATIONS.test(text.slice(start, match.index + 1).trim())) continue;
    if (candidate) sentences.push(candidate);
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences;
}

/**
 * How much of `text` is complete sentences: the length of the prefix that ends at the last sentence
 * end, or 0 when no sentence has ended yet. A reply cut by its token budget is trimmed to this.
 */
export function completeSentencesLength(text: string): number {
  let end = 0;
  for (const match of text.matchAll(BOUNDARY)) {
    if (ABBREVIATIONS.test(text.slice(0, match.index + 1).trim())) continue;
    end = match.index + match[0].length;
  }
  return text.slice(0, end).trimEnd().length;
}

/** An article longer than this is indexed up to here: retrieval stays bounded whatever staff paste. */
export const MAX_SENTENCES_PER_ARTICLE = 200;
/** A sentence longer than this is not a fact a reply can quote. */
export const MAX_FACT_CHARS = 600;

/** The sentences of an article that retrieval indexes, in order. */
export function articleSentences(body: string): string[] {
  return splitSentences(body)
    .slice(0, MAX_SENTENCES_PER_ARTICLE)
    .filter((text) => text.length <= MAX_FACT_CHARS);
}

/** A sentence's clauses: "X; Y, but Z" → X, Y, Z (a sentence without such breaks is its own clause). */
export function clauses(text: string): string[] {
  return text
    .split(/;|,\s*(?:but|while|and|so|or)\s+|\.\s+/)
    .map((c) => c.trim())
    .filter(Boolean);
}
