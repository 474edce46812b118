/**
 * Personal data kept out of training: what is replaced by a placeholder, and the look-alikes a support
 * chat is full of that must stay as they are (order numbers, prices, dates, times, quantities, article
 * numbers, tracking numbers).
 */
import { describe, expect, it } from "vitest";
import { ibanValid, luhnValid, redactPersonalData } from "@/lib/dataset/redact";

const replaced: [string, string, string][] = [
  ["email", "my email is jane.doe+shop@example.co.uk thanks", "my email is <EMAIL> thanks"],
  ["email in brackets", "(bob_1@mail.example.com)", "(<EMAIL>)"],
  ["card, spaced", "card 4111 1111 1111 1111 was charged twice", "card <CARD> was charged twice"],
  ["card, hyphens", "4012-8888-8888-1881", "<CARD>"],
  ["card, run together", "my visa 4539578763621486.", "my visa <CARD>."],
  ["amex 4-6-5", "amex 3782 822463 10005 please", "amex <CARD> please"],
  ["IBAN, grouped", "refund to DE89 3704 0044 0532 0130 00 please", "refund to <IBAN> please"],
  ["IBAN, compact", "GB82WEST12345698765432", "<IBAN>"],
  ["IBAN followed by capitals", "NL91ABNA0417164300 OK?", "<IBAN> OK?"],
  ["phone, international", "call me on +49 30 1234567", "call me on <PHONE>"],
  ["phone, 00 prefix", "0044 20 7946 0958", "<PHONE>"],
  ["phone, national trunk 0", "my number is 07700 900123, evenings", "my number is <PHONE>, evenings"],
  ["phone, slash", "Tel. 030/12345678", "Tel. <PHONE>"],
  ["phone, North American", "(555) 123-4567 or 555.123.4567", "<PHONE> or <PHONE>"],
  ["street address", "send it to 221B Baker Street, London NW1 6XE instead", "send it to <ADDRESS> instead"],
  ["street, abbreviated", "I live at 12 High St. now", "I live at <ADDRESS> now"],
  ["street, two words", "deliver to 1600 Pennsylvania Avenue", "deliver to <ADDRESS>"],
  ["German street with city", "Hauptstraße 5, 10115 Berlin bitte", "<ADDRESS> bitte"],
  ["German abbreviation", "Musterstr. 12a", "<ADDRESS>"],
  ["German separate word", "Berliner Allee 3", "<ADDRESS>"],
  [
    "several kinds in one message",
    "I'm jo@x.io, card 5555555555554444, ship to 4 Elm Road",
    "I'm <EMAIL>, card <CARD>, ship to <ADDRESS>",
  ],
];

const kept: [string, string][] = [
  ["order number", "where is order NW-123456?"],
  ["order number without prefix hyphen", "order NW123456 hasn't arrived"],
  ["price in euros", "it cost €12.50, not 12,50 €"],
  ["price in pounds", "I paid £1,299.99 for it"],
  ["ISO date", "it was due 2026-11-30"],
  ["day-month-year dates", "delivered on 30.11.2026 or 01/12/2026 10:30"],
  ["times", "between 14:30 and 18:00"],
  ["quantities", "I ordered 3 x 2 packs, 500 g each, 12 items"],
  ["durations", "within 3-5 business days, 14 days to return"],
  ["article number", "article 4006381333931 is out of stock"],
  ["long tracking number", "tracking 00340434161094042557 shows nothing"],
  ["a 13-digit number that fails Luhn", "ref 4111111111112"],
  ["an IBAN with a wrong checksum", "DE88 3704 0044 0532 0130 00"],
  ["a short number with a 0", "code 0123 for 20% off"],
  ["ordinary words with street-like endings", "I waited 2 days on the road, the way it is"],
  ["a number before a capitalised word", "2 Way adapters"],
  ["version-like numbers", "app version 10.2.3"],
  ["a year and a count", "since 2019 I have ordered 45 times"],
];

describe("redactPersonalData", () => {
  it.each(replaced)("replaces %s", (_name, input, expected) => {
    expect(redactPersonalData(input)).toBe(expected);
  });
  it.each(kept)("keeps %s", (_name, input) => {
    expect(redactPersonalData(input)).toBe(input);
  });
  it("is idempotent: a redacted text stays as it is", () => {
    for (const [, input] of replaced) {
      const once = redactPersonalData(input);
      expect(redactPersonalData(once)).toBe(once);
    }
  });
});

describe("checksums", () => {
  it("Luhn", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
  });
  it("IBAN mod 97", () => {
    expect(ibanValid("DE89 3704 0044 0532 0130 00")).toBe(true);
    expect(ibanValid("DE89 3704 0044 0532 0130 01")).toBe(false);
    expect(ibanValid("DE89")).toBe(false);
  });
});
