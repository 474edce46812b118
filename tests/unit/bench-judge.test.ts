/** The reply benchmark's judge: each definition of issue 11 on tables of replies. */
import { describe, expect, it } from "vitest";
import { TEMPLATE_REPLIES } from "@/lib/chat/decide";
import { type BenchQuestion, inventedTerms, isCutOff, judge, missingFacts, repeatedFourGram } from "@/lib/reply-bench/judge";

const articles = [
  {
    intent: "shipping_info",
    title: "Shipping options, costs and destinations",
    body: "Northwind Goods ships to the EU, the UK and the US. Standard shipping takes 3-5 business days. Orders are dispatched Monday to Friday.",
  },
  { intent: "account_access", title: "Login", body: "You can delete your account under Account Settings > Privacy; deletion is completed within 30 days." },
];
const saturday: BenchQuestion = {
  id: "s",
  text: "do you ship on saturdays?",
  intent: "shipping_info",
  expect: "answer",
  facts: [["Monday to Friday", "Mon-Fri"]],
  forbidden: ["\\byes\\b", "(?<!not |n't )ship\\w* on saturdays?"],
};
const reply = (text: string, more: Partial<{ handedOff: boolean; clarified: boolean; sources: { title?: string; slug?: string }[] }> = {}) => ({
  text,
  handedOff: false,
  clarified: false,
  ...more,
});

describe("repetitive: any word 4-gram twice", () => {
  it.each([
    ["Go to My Orders and open the order.", null],
    ['Go to "Account Settings" > "Accounts & Lists" > "Accounts & Lists" > "Accounts & Lists".', "accounts lists accounts lists"],
    ["Refunds take 5 days. Refunds take 5 days.", "refunds take 5 days"],
    ["Within 5 days, within 7 days, within 10 days.", null],
  ])("%s", (text, gram) => expect(repeatedFourGram(text)).toBe(gram));
});

describe("cut_off: does not end at the end of a sentence", () => {
  it.each([
    ["We ship Monday to Friday.", false],
    ["Really?", false],
    ['He said "thanks."', false],
    ["(See My Orders.)", false],
    ["Have a nice day! 😊", false],
    ["You can return it within 30", true],
    ["Orders ship within", true],
    ["Let me check...", true],
    ["", true],
  ])("%j → %s", (text, cut) => expect(isCutOff(text)).toBe(cut));
});

describe("invented: numbers, durations, days, places and names in neither the question nor the grounding", () => {
  const grounding = "Standard shipping takes 3-5 business days; orders over $50 ship free. Dispatched Monday to Friday, 8:00-20:00 CET, to the EU, the UK and the US. Go to My Orders > Return or Account Settings > Privacy. We accept PayPal.";
  it.each([
    ["Standard shipping takes 3 to 5 business days.", []],
    ["Orders over $50 ship free.", []],
    ["It costs $4.99.", ["number:4.99"]],
    ["Refunds take 10 days.", ["number:10"]],
    ["You get thirty days.", ["number:30"]],
    ["Agents are there 8am to 8pm.", []],
    ["Delivery takes about a week.", ["duration:week"]],
    ["A 2023 warranty applies.", ["number:2023"]],
    ["We ship Monday to Friday, Mon-Fri.", []],
    ["We also ship on Saturdays.", ["day:saturday"]],
    ["Orders placed today arrive tomorrow.", ["day:tomorrow"]],
    ["We ship to the UK and the US.", []],
    ["We ship to Australia and Canada.", ["place:australia", "place:canada"]],
    ["We ship worldwide.", ["place:worldwide"]],
    ["Go to My Orders > Return.", []],
    ['Go to "Account Settings" > "Accounts & Lists".', ["name:Accounts & Lists"]],
    ["Please click Submit in the Returns Portal.", ["name:Submit", "name:Returns Portal"]],
    ["Sorry, I can help. Yes, PayPal works.", []],
    ["We send it with DHL.", ["name:DHL"]],
    ["Your PayPal's receipt is in My Orders, for PayPal-related questions.", []],
    ["Hi Sarah, thanks for asking.", ["name:Sarah"]],
  ])("%s", (text, invented) => expect(inventedTerms(text, grounding)).toEqual(invented));

  it("takes the question's own terms as known", () => {
    expect(inventedTerms("Yes, we deliver to Ireland within 3-5 days.", `Do you ship to Ireland? ${grounding}`)).toEqual([]);
    // Whatever its capitals: customers write "germany". A lower-case "us" is a word, not the US.
    expect(inventedTerms("Shipping to Germany costs $7.", `how much is shipping to germany ${grounding}`)).toEqual(["number:7"]);
    expect(inventedTerms("We ship to the US.", "can you send it to us")).toEqual(["place:us"]);
  });
});

describe("facts: every required fact, any of its alternatives", () => {
  it.each([
    ["You have 30 days.", []],
    ["You have a 30-day window.", []],
    ["You have thirty days to return it.", []],
    ["You have a month.", [["30 days", "30-day", "thirty days"]]],
  ])("%s", (text, missing) => expect(missingFacts(text, [["30 days", "30-day", "thirty days"]])).toEqual(missing));
});

describe("judge", () => {
  it("passes a right answer and names every fault of a wrong one", () => {
    expect(judge(saturday, reply("No, we don't ship on Saturdays: orders are dispatched Monday to Friday."), articles)).toMatchObject({ pass: true, reasons: [] });
    const wrong = judge(saturday, reply("Yes, all orders are shipped on Saturdays and delivered in 2 weeks to Australia and"), articles);
    expect(wrong).toMatchObject({ pass: false, facts: false, contradictions: ["Yes", "shipped on Saturdays"], cutOff: true, abstained: false });
    // Saturdays are in the question: claimed, but not invented.
    expect(wrong.invented).toEqual(["number:2", "duration:week", "place:australia"]);
  });

  it("grounds in the reported sources, by title or slug, else in the intent's article", () => {
    const q = { ...saturday, facts: [], forbidden: [] };
    const text = "You can delete it under Account Settings > Privacy within 30 days.";
    expect(judge(q, reply(text), articles).invented).toEqual(["number:30", "name:Account Settings", "name:Privacy"]);
    expect(judge(q, reply(text, { sources: [{ title: "Login" }] }), articles)).toMatchObject({ invented: [], groundedIn: ["Login"] });
    expect(judge(q, reply(text, { sources: [{ slug: "login" }] }), articles)).toMatchObject({ invented: [], groundedIn: ["Login"] });
  });

  it("counts a template reply, a handoff or a clarifying question as abstaining", () => {
    const outOfScope: BenchQuestion = { ...saturday, intent: "out_of_scope", expect: "abstain", facts: [], forbidden: ["Canberra"] };
    expect(judge(outOfScope, reply(TEMPLATE_REPLIES.out_of_scope), articles)).toMatchObject({ pass: true, abstained: true, invented: [] });
    expect(judge(outOfScope, reply("Do you mean shipping or returns?", { clarified: true }), articles)).toMatchObject({ pass: true, abstained: true });
    expect(judge(outOfScope, reply("The capital is Canberra."), articles)).toMatchObject({ pass: false, reasons: ["answered instead of abstaining", 'forbidden claim: "Canberra"'] });
    const human: BenchQuestion = { ...outOfScope, expect: "handoff" };
    expect(judge(human, reply(TEMPLATE_REPLIES.asked_for_human, { handedOff: true }), articles)).toMatchObject({ pass: true, handedOff: true });
    expect(judge(human, reply(TEMPLATE_REPLIES.low_confidence), articles)).toMatchObject({ pass: false, reasons: ["did not hand off"] });
    expect(judge(saturday, reply(TEMPLATE_REPLIES.low_confidence), articles)).toMatchObject({ pass: false, abstained: true, cutOff: false });
  });
});
