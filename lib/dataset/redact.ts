/**
 * Personal data kept out of training (issue 16 item 5): emails, phone numbers, card numbers, IBANs and
 * street addresses in a customer's text are replaced by typed placeholders before the text becomes
 * training data (classifier and LM snapshots, stored LM examples). Staff still see the original in the
 * transcript; only what is trained on is redacted.
 *
 * No library here both installs offline and covers these five kinds, so the patterns are small and
 * each is checked where a checksum exists (Luhn for cards, ISO 7064 mod 97 for IBANs). They lean to
 * keeping text: order numbers (NW-123456), prices, dates, times, quantities and article numbers must
 * stay (tests/unit/redact.test.ts lists both sides). Known misses: a street address written all in
 * lower case ("12 baker street"), a phone number without a leading + / 0 or the North American
 * 3-3-4 grouping, and numbers spelt out in words.
 */

export const PLACEHOLDERS = {
  email: "<EMAIL>",
  phone: "<PHONE>",
  card: "<CARD>",
  iban: "<IBAN>",
  address: "<ADDRESS>",
} as const;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

// Country code, check digits, then the account in groups of up to four (spaces optional).
const IBAN_CANDIDATE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}\b/g;

// 13 to 19 digits, single spaces or hyphens between them (as cards are printed and typed).
const CARD_CANDIDATE = /(?<![\w+-])\d(?:[ -]?\d){12,18}(?![\w-])/g;

const PHONE_CANDIDATES = [
  // International (+49 30 1234567, 0044 20 7946 0958) or national with a trunk 0 (030 1234567, 07700 900123).
  /(?<![\w+\-/.])(?:\+|0)\(?\d[\d ()./-]{6,}\d(?![\w:/-])/g,
  // North American 3-3-4: (555) 123-4567, 555-123-4567, 555.123.4567.
  /(?<![\w-])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])/g,
];
const DATE_LIKE = /^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$/;

const STREET_SUFFIX = "Street|St\\.?|Road|Rd\\.?|Avenue|Ave\\.?|Lane|Ln\\.?|Drive|Dr\\.?|Boulevard|Blvd\\.?|Way|Court|Ct\\.?|Place|Pl\\.?|Terrace|Crescent|Square|Parkway";
// "221B Baker Street", "12 High St.", optionally ", London" / ", 10115 Berlin" / ", London NW1 6XE" after it.
const CITY_TAIL = "(?:,\\s*(?:\\d{4,5}\\s+)?[A-Z][a-z]+(?:\\s+[A-Z]{1,2}\\d[A-Z\\d]?\\s?\\d[A-Z]{2})?)?";
const ADDRESSES = [
  new RegExp(`\\b\\d{1,5}[A-Za-z]?,? (?:[A-Z][a-z'-]+ ){1,3}(?:${STREET_SUFFIX})(?![\\w])${CITY_TAIL}`, "g"),
  // "Hauptstraße 5", "Musterstr. 12a", "Berliner Allee 3", optionally ", 10115 Berlin".
  new RegExp(
    `(?:[A-ZÄÖÜ][a-zäöüß]+[ -])?(?:[A-ZÄÖÜ][a-zäöüß-]*(?:straße|strasse|str\\.|weg|gasse|allee|platz)|Straße|Strasse|Allee|Weg|Platz) ?\\d{1,4}[a-z]?\\b(?:,\\s*\\d{5}\\s+[A-ZÄÖÜ][a-zäöüß]+)?`,
    "gu",
  ),
];

function digitsOf(s: string): string {
  return s.replace(/\D/g, "");
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, "");
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  let remainder = 0;
  for (const ch of compact.slice(4) + compact.slice(0, 4)) {
    const value = ch >= "A" ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

/** The longest run of the candidate's space-separated groups, from its start, that is a valid IBAN. */
function ibanPrefix(candidate: string): string | null {
  const groups = candidate.split(" ");
  for (let n = groups.length; n >= 1; n--) {
    const prefix = groups.slice(0, n).join(" ");
    if (ibanValid(prefix)) return prefix;
  }
  return null;
}

function phoneLike(match: string): boolean {
  const digits = digitsOf(match).length;
  return digits >= 9 && digits <= 15 && !DATE_LIKE.test(match.trim());
}

/** The text with every email, IBAN, card number, phone number and street address replaced by its placeholder. */
export function redactPersonalData(text: string): string {
  const withoutEmails = text.replace(EMAIL, PLACEHOLDERS.email);
  // IBAN-shaped text is decided by its checksum alone: one that fails stays whole, never half taken for a card or phone.
  let out = "";
  let last = 0;
  for (const match of withoutEmails.matchAll(IBAN_CANDIDATE)) {
    const iban = ibanPrefix(match[0]);
    out += redactNumbersAndAddresses(withoutEmails.slice(last, match.index)) + (iban === null ? match[0] : PLACEHOLDERS.iban + match[0].slice(iban.length));
    last = match.index + match[0].length;
  }
  return out + redactNumbersAndAddresses(withoutEmails.slice(last));
}

function redactNumbersAndAddresses(text: string): string {
  let out = text.replace(CARD_CANDIDATE, (m) => (luhnValid(digitsOf(m)) ? PLACEHOLDERS.card : m));
  for (const pattern of PHONE_CANDIDATES) out = out.replace(pattern, (m) => (phoneLike(m) ? PLACEHOLDERS.phone : m));
  for (const pattern of ADDRESSES) out = out.replace(pattern, PLACEHOLDERS.address);
  return out;
}
