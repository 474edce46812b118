/**
 * The sentence checker on tables of supported and unsupported sentences, with the real encoder (the
 * facts are the shipped knowledge base's own sentences). The unsupported rows are replies the stock
 * model actually wrote for these facts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { checkSentence, claims, covers, inventedClaims, isNegative, repeatedPhrase, type CheckedFact } from "@/lib/chat/check";
import { clauses } from "@/lib/sentences";
import { loadEncoder, type Encoder } from "@/lib/models/encoder";

let encoder: Encoder;
beforeAll(async () => {
  encoder = await loadEncoder("models");
});

const FACTS = {
  codes: "Enter a discount code in the Promo code field at checkout; only one code can be used per order and codes cannot be added after an order is placed.",
  cancel: "Once an order has shipped it can no longer be cancelled, but you can return it within 30 days of delivery.",
  dispatch: "Orders are dispatched Monday to Friday, and every shipment is tracked.",
  warranty: "All electronics and small appliances come with a 2-year warranty from the delivery date that covers manufacturing defects, while other products are covered for defects for 1 year.",
  manuals: "User manuals for electronics and appliances can be downloaded from the product page.",
  destinations: "Northwind Goods ships to the EU, the UK and the US.",
  refunds: "Refunds go to the original payment method within 5-7 business days after the return arrives at our warehouse, and you receive an email when it is processed.",
};

async function fact(id: string, text: string): Promise<CheckedFact> {
  const parts = clauses(text);
  const [vector, ...clauseVectors] = await encoder.embed([text, ...parts]);
  return { id, text, vector: vector!, clauses: parts.map((c, i) => ({ text: c, vector: clauseVectors[i]! })) };
}

async function check(sentence: string, factTexts: string[], question: string, earlier = "") {
  const facts = await Promise.all(factTexts.map((text, i) => fact(`f${i}`, text)));
  return checkSentence(await fact("s", sentence), { facts, question, earlier });
}

describe("checkSentence: supported sentences pass", () => {
  it.each([
    ["User manuals for electronics and appliances can be found on the product page for your kettle.", [FACTS.manuals], "where is the manual for my kettle?"],
    ["Northwind Goods ships to the EU, the UK, and the US.", [FACTS.destinations], "do you ship to australia?"],
    ["Northwind Goods ships to the EU, UK, and US.", [FACTS.destinations], "where do you ship?"],
    ["Only one discount code can be used per order.", [FACTS.codes], "can I use two codes?"],
    ["Once your order has shipped, it can no longer be cancelled.", [FACTS.cancel], "can I cancel after it shipped?"],
    ["Electronics come with a 2-year warranty.", [FACTS.warranty], "how long is the warranty on electronics?"],
  ])("%s", async (sentence, facts, question) => {
    expect(await check(sentence, facts, question)).toMatchObject({ ok: true, factId: "f0" });
  });
});

describe("checkSentence: unsupported sentences are dropped, with the reason", () => {
  it.each([
    // Yes/no contradictions: the fact says no (or "only").
    ["You can use two discount codes on one order.", [FACTS.codes], "can I use two discount codes on one order?", "contradicts"],
    ["You can use two discount codes on one order.", [FACTS.codes], "can I combine discount codes?", "invented"],
    ["Yes, you can use several discount codes on one order.", [FACTS.codes], "can I use several discount codes?", "contradicts"],
    ["You can cancel an order after it has shipped, but you can also return it within 30 days of delivery.", [FACTS.cancel], "can I cancel after it shipped?", "contradicts"],
    // Invented numbers, days, places and names.
    ["We deliver on Saturdays too.", [FACTS.dispatch], "do you deliver on saturdays?", "unsupported"],
    ["Orders are dispatched Monday to Saturday.", [FACTS.dispatch], "when do you ship?", "invented"],
    ["All electronics come with a 3-year warranty.", [FACTS.warranty], "warranty?", "invented"],
    ["Refunds go back to your card within 10 business days.", [FACTS.refunds], "how long do refunds take?", "invented"],
    ["Northwind Goods ships to the EU, the UK, the US and Canada.", [FACTS.destinations], "where do you ship?", "invented"],
    ["You can return your shoes to your local Northwind Goods store in Berlin.", [FACTS.refunds], "how do I return shoes?", "invented"],
    // Talk about the conversation, and sentences that say something else.
    ["You're a helpful customer support assistant for Northwind Goods.", [FACTS.refunds], "how long do refunds take?", "meta"],
    ["The customer asked about refunds for cancelled orders.", [FACTS.refunds], "refund for cancelled order?", "meta"],
    ["You're referring to a refund refund policy.", [FACTS.refunds], "how long do refunds take?", "unsupported"],
    // A true clause with an invented one attached.
    [
      "Refunds go to your original payment method within 5-7 business days, so please be patient and enjoy your day.",
      [FACTS.refunds],
      "how long do refunds take?",
      "unsupported",
    ],
    ["Orders are dispatched Monday to Friday, and we also love our customers very much.", [FACTS.dispatch], "when do you ship?", "unsupported"],
    [
      "You can track your parcel using the carrier's tracking link, and you can check it in 1 business day.",
      ["Orders are usually dispatched within 1 business day, and a shipping confirmation email with a tracking link is sent once the parcel leaves our warehouse."],
      "how do i track my parcel?",
      "unsupported",
    ],
  ])("%s", async (sentence, facts, question, reason) => {
    expect(await check(sentence, facts, question)).toMatchObject({ ok: false, reason });
  });

  it("drops a sentence that repeats a phrase already sent", async () => {
    const earlier = "User manuals for electronics and appliances can be downloaded from the product page.";
    expect(await check("User manuals for electronics can be downloaded from the product page.", [FACTS.manuals], "manual?", earlier)).toMatchObject({
      ok: false,
      reason: "repeats",
    });
  });
});

describe("claims", () => {
  it.each([
    ["Standard shipping takes 3-5 business days; orders over $50 ship free.", ["3-5", "$50"]],
    ["Students get 10% off, twice a year.", ["10%", "2"]],
    ["Support is open Mon-Fri 8:00-20:00 CET.", ["mon", "fri", "8:00-20:00", "cet"]],
    ["Orders are dispatched Monday to Friday.", ["monday", "friday"]],
    ["Go to Account Settings > Privacy.", ["account", "settings", "privacy"]],
    ["Sure! I can help.", []],
    ["Thanks for contacting Northwind Goods.", []],
    // A quoted label is a name; a quote that opens the sentence is not.
    ['Use the "Add to Vat" feature in the "Accounts" section.', ["add", "vat", "accounts"]],
    ['"Sure," I said.', []],
  ])("%s", (text, expected) => {
    expect([...claims(text)].sort()).toEqual([...expected].sort());
  });

  it("counts a claim as invented only when neither the facts nor the question have it", () => {
    expect(inventedClaims("We ship to Australia in 7 days.", [FACTS.destinations, "do you ship to Australia?"])).toEqual(["7"]);
    expect(inventedClaims("It takes 3-5 business days.", ["Standard shipping takes 3-5 business days."])).toEqual([]);
    expect(inventedClaims("It takes 3 days.", ["Standard shipping takes 3-5 business days."])).toEqual(["3"]);
  });
});

describe("polarity and repetition helpers", () => {
  it.each([
    ["only one code can be used per order", true],
    ["it can no longer be cancelled", true],
    ["we don't ship there", true],
    ["you can return it within 30 days", false],
  ])("isNegative(%j) = %s", (clause, negative) => {
    expect(isNegative(clause)).toBe(negative);
  });

  it("finds a repeated 4-word phrase within a sentence or against earlier text", () => {
    expect(repeatedPhrase("within 5 days, within 5 days, within 5 days", "")).toBe("within 5 days within");
    expect(repeatedPhrase("Refunds take 5-7 business days.", "Refunds take 5-7 business days after arrival.")).toBe("refunds take 5-7 business");
    expect(repeatedPhrase("Go to My Orders.", "Refunds take a week.")).toBeNull();
  });
});

describe("covers: a sentence carries a fact whole", () => {
  it("needs the fact's meaning and every one of its claims", async () => {
    const [full, partial] = await encoder.embed([
      "Electronics and small appliances have a 2-year warranty against manufacturing defects, and other products 1 year.",
      "The warranty on electronics is 2 years.",
    ]);
    const f = await fact("f", FACTS.warranty);
    expect(covers("Electronics and small appliances have a 2-year warranty against manufacturing defects, and other products 1 year.", full!, f)).toBe(true);
    expect(covers("The warranty on electronics is 2 years.", partial!, f)).toBe(false);
  });
});
