/**
 * A constructed history for the outcome reports (tests/integration/reports.test.ts): conversations in
 * early March 2020, far from anything other tests write, with handoffs, agent replies at known times,
 * ratings, 👎s and staff's bad marks, across two days and two model versions. The figures it should
 * give are worked out by hand in the test.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";

export const LM_A = "lm-a";
/** A version name with a comma and quotes, so the CSV has to quote it. */
export const LM_B = 'lm-b,"nightly"';
export const CLF_1 = "clf-1";
export const CLF_2 = "clf-2";

type Status = "bot" | "waiting_for_agent" | "agent" | "closed";
interface Msg {
  at: string;
  role: "customer" | "bot" | "agent";
  /** Customer messages: the classifier version; bot replies: the model version ("template" for templates). */
  version?: string;
  decision?: "answer" | "clarify" | "handoff_asked_for_human" | "handoff_low_confidence";
  /** false: the customer's 👎. (No 👍 here: the report does not use it, and LM exports would.) */
  helpful?: false;
  bad?: boolean;
}
interface Conv {
  name: string;
  status: Status;
  rating?: number;
  messages: Msg[];
}

const customer = (at: string, version: string): Msg => ({ at, role: "customer", version });
const answer = (at: string, version: string, extra: Partial<Msg> = {}): Msg => ({ at, role: "bot", version, decision: "answer", ...extra });
const handoff = (at: string, decision: Msg["decision"] = "handoff_asked_for_human"): Msg => ({ at, role: "bot", version: "template", decision });
const agent = (at: string): Msg => ({ at, role: "agent" });

export const HISTORY: Conv[] = [
  // Monday 2 March 2020.
  { name: "C1 closed by the bot, rated 5", status: "closed", rating: 5, messages: [customer("2020-03-02T10:00:00Z", CLF_1), answer("2020-03-02T10:00:05Z", LM_A)] },
  {
    name: "C2 idle with the bot; staff marked a reply bad (not a 👎)",
    status: "bot",
    messages: [customer("2020-03-02T11:00:00Z", CLF_1), { at: "2020-03-02T11:00:05Z", role: "bot", version: "template", decision: "clarify" }, answer("2020-03-02T11:01:00Z", LM_A, { bad: true })],
  },
  { name: "C3 handed over at once, agent after 120 s, rated 3", status: "closed", rating: 3, messages: [customer("2020-03-02T12:00:00Z", CLF_1), handoff("2020-03-02T12:00:10Z"), agent("2020-03-02T12:02:10Z")] },
  { name: "C4 idle with a 👎", status: "bot", messages: [customer("2020-03-02T13:00:00Z", CLF_1), answer("2020-03-02T13:00:05Z", LM_A, { helpful: false })] },
  // Tuesday 3 March 2020.
  {
    name: "C5 answered (marked bad), handoff, agent after 60 s and again later, rated 4",
    status: "closed",
    rating: 4,
    messages: [customer("2020-03-03T09:00:00Z", CLF_2), answer("2020-03-03T09:00:05Z", LM_B, { bad: true }), handoff("2020-03-03T09:01:00Z"), agent("2020-03-03T09:02:00Z"), agent("2020-03-03T09:10:00Z")],
  },
  {
    name: "C6 unsure handoff, agent after 300 s, still open; a later message from another classifier",
    status: "agent",
    messages: [customer("2020-03-03T10:00:00Z", CLF_2), answer("2020-03-03T10:00:05Z", LM_B), customer("2020-03-03T10:04:00Z", CLF_1), handoff("2020-03-03T10:05:00Z", "handoff_low_confidence"), agent("2020-03-03T10:10:00Z")],
  },
  { name: "C7 handoff nobody answered yet", status: "waiting_for_agent", messages: [customer("2020-03-03T14:00:00Z", CLF_2), answer("2020-03-03T14:00:05Z", LM_B), handoff("2020-03-03T14:01:00Z")] },
  { name: "C8 closed by the bot, not rated", status: "closed", messages: [customer("2020-03-03T15:00:00Z", CLF_2), answer("2020-03-03T15:00:05Z", LM_B)] },
  {
    name: "C9 taken over by an agent without a handoff, rated 2; a later reply from another LM",
    status: "closed",
    rating: 2,
    messages: [customer("2020-03-03T16:00:00Z", CLF_2), answer("2020-03-03T16:00:05Z", LM_B), answer("2020-03-03T16:01:00Z", LM_A), agent("2020-03-03T16:05:00Z")],
  },
  { name: "C10 idle with the bot, the older versions", status: "bot", messages: [customer("2020-03-03T17:00:00Z", CLF_1), answer("2020-03-03T17:00:05Z", LM_A)] },
  // Outside 2-4 March: never counted there.
  { name: "before the range", status: "closed", rating: 1, messages: [customer("2020-03-01T23:59:59Z", CLF_1), answer("2020-03-02T00:00:01Z", LM_A)] },
  { name: "after the range", status: "closed", rating: 1, messages: [customer("2020-03-05T00:00:00Z", CLF_1), handoff("2020-03-05T00:00:01Z"), agent("2020-03-05T00:00:02Z")] },
];

/**
 * Writes HISTORY: a conversation starts at its first message and its last message is its latest; one
 * waiting for an agent has waited since then (the handoff), as the queue expects.
 */
export async function insertReportHistory(pool: pg.Pool): Promise<void> {
  const customerId = randomUUID();
  await pool.query(`INSERT INTO "Customer" (id) VALUES ($1)`, [customerId]);
  const staff = randomUUID();
  await pool.query(`INSERT INTO "StaffUser" (id, email, name, role, "passwordHash") VALUES ($1, $2, 'Report agent', 'agent', 'x')`, [staff, `report-${staff}@example.com`]);
  for (const c of HISTORY) {
    const id = randomUUID();
    const first = c.messages[0]!.at;
    const last = c.messages.at(-1)!.at;
    await pool.query(
      `INSERT INTO "Conversation" (id, "customerId", status, "createdAt", "lastMessageAt", rating, "closedAt", "waitingSince")
       VALUES ($1, $2, $3::"ConversationStatus", $4::timestamptz AT TIME ZONE 'UTC', $5::timestamptz AT TIME ZONE 'UTC', $6,
               CASE WHEN $3::"ConversationStatus" = 'closed' THEN $5::timestamptz AT TIME ZONE 'UTC' END,
               CASE WHEN $3::"ConversationStatus" = 'waiting_for_agent' THEN $5::timestamptz AT TIME ZONE 'UTC' END)`,
      [id, customerId, c.status, first, last, c.rating ?? null],
    );
    for (const m of c.messages) {
      await pool.query(
        `INSERT INTO "Message" (id, "conversationId", role, text, "createdAt", "classifierVersion", "modelVersion", decision, "replyStatus", "customerHelpful", feedback, "authorStaffId")
         VALUES ($1, $2, $3, $4, $5::timestamptz AT TIME ZONE 'UTC', $6, $7, $8, $9, $10, $11, $12)`,
        [
          randomUUID(),
          id,
          m.role,
          // The report never reads text: every message says the same.
          "text",
          m.at,
          m.role === "customer" ? m.version : null,
          m.role === "bot" ? m.version : null,
          m.decision ?? null,
          m.role === "bot" ? "complete" : null,
          m.helpful ?? null,
          m.bad ? "bad" : null,
          m.role === "agent" ? staff : null,
        ],
      );
    }
  }
}
