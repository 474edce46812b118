/**
 * Customers' shorthand, spelt out in the help centre's words before retrieval reads a message. The
 * encoder has never seen "amex" next to "American Express", and the lexical rank matches whole words
 * only, so "do you take amex?" found nothing (the payments sentence scored 0.30). Pure.
 *
 * Only shorthand with one meaning in a shop's chat belongs here; a word that is also an ordinary word
 * ("acc", "inv") would rewrite messages that never meant it.
 */
const SHORTHAND: Record<string, string> = {
  amex: "American Express",
  applepay: "Apple Pay",
  "2fa": "two-factor",
  mfa: "two-factor",
  otp: "two-factor",
  pw: "password",
  pwd: "password",
  passwd: "password",
  acct: "account",
  addr: "address",
  pkg: "package",
  eta: "estimated delivery date",
  qty: "quantity",
  usa: "US",
  u: "you",
  ur: "your",
  pls: "please",
  plz: "please",
  thx: "thanks",
};

// A whole word: not part of a longer one, a hyphenated one or a dotted one ("U.S.").
const WORD = new RegExp(`(?<![\\w.-])(?:${Object.keys(SHORTHAND).join("|")})(?![\\w-]|\\.\\w)`, "gi");

/** The message with every known shorthand word replaced by what it stands for. */
export function spellOutShorthand(message: string): string {
  return message.replace(WORD, (word) => SHORTHAND[word.toLowerCase()]!);
}
