/**
 * `npm run bench:inbox`: the staff inbox's queries on 100,000 conversations (~500,000 messages).
 *
 * Creates a throw-away database on the local PostgreSQL server (TEST_POSTGRES_URL's server,
 * default postgresql://postgres@127.0.0.1:5432), applies the migrations, fills it with SQL
 * generate_series (deterministic: setseed), then times every inbox query through lib/db/inbox.ts
 * exactly as the route handlers call it — the default list, each filter, full-text searches, a deep
 * keyset page, the waiting queue and the review queue — and prints p50/p95 per query and the plan
 * of each (EXPLAIN ANALYZE: which indexes, no sequential scan of Conversation or Message). The last
 * line:
 *
 *   RESULT conversations=100000 list_p95_ms=… search_p95_ms=… review_p95_ms=…
 *
 * (each the worst p95 of its group). The database is dropped at the end unless --keep.
 *
 * Options: --conversations N (default 100000), --runs N timed runs per query (default 30), --keep
 * (keep the database and print its URL), --reuse URL (time a database an earlier --keep filled).
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import pg from "pg";
import { createDatabase } from "../tests/helpers/postgres";

const { values: args } = parseArgs({
  options: {
    conversations: { type: "string", default: "100000" },
    runs: { type: "string", default: "30" },
    keep: { type: "boolean", default: false },
    reuse: { type: "string" },
  },
});
const CONVERSATIONS = Number(args.conversations);
const RUNS = Number(args.runs);
const MESSAGES_PER_CONVERSATION = 5;
const LABELS = [
  "account_access", "cancel_order", "change_address", "change_order", "complaint", "delivery_problem", "discounts_promo",
  "goodbye", "greeting", "invoice_receipt", "order_status", "out_of_scope", "payment_problem", "product_question",
  "returns_refunds", "shipping_info", "stock_availability", "talk_to_human", "thanks", "warranty_repair",
];
const CUSTOMER_TEXTS = [
  "Where is my order? It was supposed to arrive yesterday",
  "I want a refund for the kettle I returned last week",
  "Can I get refunds for both items or only one",
  "My parcel arrived damaged, the box was crushed",
  "How do I change the delivery address on my order",
  "The discount code SPRING20 does not work at checkout",
  "I was charged twice for the same order",
  "Is the cast iron skillet oven safe",
  "Do you ship to Canada and how long does it take",
  "I forgot my password and the reset email never arrives",
  "Can I cancel my order before it ships",
  "The jacket is the wrong size, can I swap it",
  "When will the blue teapot be back in stock",
  "I need an invoice with my company VAT number",
  "What is the warranty on the coffee grinder",
  "Hello there",
  "Thanks a lot, that helped",
  "I would like to talk to a human please",
  "This is the third time my delivery is late, really disappointed",
  "Can you recommend a gift for my mother",
  "The tracking number does not show anything",
  "My package says delivered but I never got it",
  "How much is express shipping",
  "Please update the phone number on my account",
];
const BOT_TEXTS = [
  "I'm sorry to hear that. Could you share your order number so I can check?",
  "You can request a refund from your account page under Orders, Returns.",
  "Standard delivery takes 3 to 5 working days; express arrives next day.",
  "I've passed this on to our team, someone will be with you shortly.",
  "Our products come with a two-year warranty covering manufacturing defects.",
  "You can change the address until the order is dispatched.",
  "Happy to help! Is there anything else I can do for you?",
  "Discount codes can't be combined with other offers.",
];
/** Matches ~0.05% of customer messages. */
const RARE_WORD = "kaleidoscope";
/** Matches ~1.5% of customer messages (~4,500 at 100,000 conversations: near the exact-search limit). */
const MEDIUM_WORD = "turquoise";

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const ms = (x: number) => x.toFixed(1);
const sqlArray = (xs: string[]) => `ARRAY[${xs.map((x) => `'${x.replaceAll("'", "''")}'`).join(",")}]`;

async function fill(client: pg.Client): Promise<void> {
  const t0 = performance.now();
  // Secondary indexes are rebuilt after the load (much faster than maintaining them row by row).
  const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(`
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    JOIN pg_class c ON c.relname = i.indexname
    JOIN pg_index x ON x.indexrelid = c.oid
    WHERE i.schemaname = 'public' AND i.tablename IN ('Conversation', 'Message') AND NOT x.indisprimary AND NOT x.indisunique`);
  for (const i of indexes) await client.query(`DROP INDEX "${i.indexname}"`);

  await client.query("SELECT setseed(0.42)");
  await client.query(`INSERT INTO "Customer"(id, "createdAt")
    SELECT gen_random_uuid(), now() - interval '200 days' FROM generate_series(1, ${Math.ceil(CONVERSATIONS / 5)})`);
  // Conversations over the last 90 days: 70% closed, 20% with the bot, 8% with an agent, 2% waiting.
  await client.query(`
    INSERT INTO "Conversation"(id, "customerId", status, "createdAt", "lastMessageAt", "waitingSince", rating, "closedAt", "hasCorrection")
    SELECT gen_random_uuid(), cust.ids[1 + (s.i % array_length(cust.ids, 1))], s.status::"ConversationStatus",
      s.last - interval '4 minutes', s.last,
      CASE WHEN s.status = 'waiting_for_agent' THEN s.last + (s.r2 * interval '20 minutes') END,
      CASE WHEN s.status = 'closed' AND s.r2 < 0.4 THEN 1 + floor(s.r2 * 12.5)::int END,
      CASE WHEN s.status = 'closed' THEN s.last + interval '5 minutes' END,
      s.r3 < 0.03
    FROM (
      SELECT i, r2, r3, date_trunc('milliseconds', now() - r4 * interval '90 days') AS last,
        CASE WHEN r1 < 0.70 THEN 'closed' WHEN r1 < 0.90 THEN 'bot' WHEN r1 < 0.98 THEN 'agent' ELSE 'waiting_for_agent' END AS status
      FROM (SELECT i, random() r1, random() r2, random() r3, random() r4 FROM generate_series(1, ${CONVERSATIONS}) i) r
    ) s, (SELECT array_agg(id) ids FROM "Customer") cust`);
  // Five messages each: customer, bot, customer, bot, customer, a minute apart.
  await client.query(`
    INSERT INTO "Message"(id, "conversationId", role, text, "clientMessageId", "createdAt", intent, "intentProbability",
      "runnerUpIntent", "runnerUpProbability", "classifierVersion", reviewed, "replyStatus", "modelVersion",
      "timeToFirstTokenMs", "tokenCount", "generationMs", feedback)
    SELECT gen_random_uuid(), m.cid, m.role::"MessageRole",
      CASE WHEN m.role = 'customer'
        THEN (${sqlArray(CUSTOMER_TEXTS)})[1 + floor(m.r1 * ${CUSTOMER_TEXTS.length})::int]
             || ' (order NW-' || (100000 + floor(m.r2 * 900000)::int) || ')'
             || CASE WHEN m.r3 < 0.0005 THEN ' ${RARE_WORD}' WHEN m.r3 < 0.0155 THEN ' ${MEDIUM_WORD}' ELSE '' END
        ELSE (${sqlArray(BOT_TEXTS)})[1 + floor(m.r1 * ${BOT_TEXTS.length})::int] END,
      m.cid || ':' || m.k, m.at,
      CASE WHEN m.role = 'customer' THEN (${sqlArray(LABELS)})[1 + m.li] END,
      CASE WHEN m.role = 'customer' THEN m.p1 END,
      CASE WHEN m.role = 'customer' THEN (${sqlArray(LABELS)})[1 + (m.li + 1 + floor(m.r4 * ${LABELS.length - 1})::int) % ${LABELS.length}] END,
      CASE WHEN m.role = 'customer' THEN m.r5 * least(m.p1, 1 - m.p1) END,
      CASE WHEN m.role = 'customer' THEN 'seed-bench' END,
      m.role = 'customer' AND m.r6 < 0.1,
      CASE WHEN m.role = 'bot' THEN 'complete'::"ReplyStatus" END,
      CASE WHEN m.role = 'bot' THEN 'smollm2-135m-instruct@bench' END,
      CASE WHEN m.role = 'bot' THEN 150 + floor(m.r2 * 400)::int END,
      CASE WHEN m.role = 'bot' THEN 20 + floor(m.r3 * 60)::int END,
      CASE WHEN m.role = 'bot' THEN 800 + floor(m.r4 * 2000)::int END,
      CASE WHEN m.role = 'bot' AND m.r6 < 0.02 THEN (CASE WHEN m.r5 < 0.7 THEN 'good' ELSE 'bad' END)::"ReplyFeedback" END
    FROM (
      SELECT c.id AS cid, k, CASE WHEN k % 2 = 0 THEN 'customer' ELSE 'bot' END AS role,
        c."lastMessageAt" - (${MESSAGES_PER_CONVERSATION - 1} - k) * interval '1 minute' AS at,
        floor(random() * ${LABELS.length})::int AS li, 0.25 + random() * 0.75 AS p1,
        random() r1, random() r2, random() r3, random() r4, random() r5, random() r6
      FROM "Conversation" c CROSS JOIN generate_series(0, ${MESSAGES_PER_CONVERSATION - 1}) k
    ) m`);
  // The denormalised inbox columns, as the chat path keeps them.
  await client.query(`
    UPDATE "Conversation" c SET "lastMessagePreview" = left(a.last_text, 160), "lastIntent" = a.last_intent,
      "minIntentProbability" = a.min_p
    FROM (
      SELECT "conversationId",
        (array_agg(text ORDER BY "createdAt" DESC))[1] AS last_text,
        (array_agg(intent ORDER BY "createdAt" DESC) FILTER (WHERE intent IS NOT NULL))[1] AS last_intent,
        min("intentProbability") AS min_p
      FROM "Message" GROUP BY "conversationId"
    ) a WHERE a."conversationId" = c.id`);
  const loaded = performance.now();
  for (const i of indexes) await client.query(i.indexdef);
  await client.query("VACUUM ANALYZE");
  const counts = await client.query<{ c: string; m: string }>(`SELECT (SELECT count(*) FROM "Conversation") c, (SELECT count(*) FROM "Message") m`);
  console.log(
    `filled ${counts.rows[0]!.c} conversations, ${counts.rows[0]!.m} messages in ${((loaded - t0) / 1000).toFixed(1)} s, ` +
      `indexes rebuilt and analysed in ${((performance.now() - loaded) / 1000).toFixed(1)} s`,
  );
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

/** Rows a scan node read (returned + filtered out), over all its loops. */
const rowsRead = (n: PlanNode) => ((n["Actual Rows"] ?? 0) + (n["Rows Removed by Filter"] ?? 0)) * (n["Actual Loops"] ?? 1);

function walk(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const p of node.Plans ?? []) walk(p, out);
  return out;
}

async function main() {
  const database = args.reuse
    ? { url: args.reuse, drop: async () => {} }
    : await createDatabase("loopdesk_bench");
  let client: pg.Client | undefined;
  let failed = false;
  try {
    execFileSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts", "deploy"], {
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: ["ignore", "ignore", "inherit"],
    });
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    if (!args.reuse) await fill(client);

    process.env.DATABASE_URL = database.url;
    const inbox = await import("../lib/db/inbox");
    const { db } = await import("../lib/db/client");

    // Data-dependent parameters.
    const midpoint = await client.query<{ from: Date; to: Date }>(
      `SELECT now() - interval '45 days' AS from, now() - interval '38 days' AS to`,
    );
    const { from, to } = midpoint.rows[0]!;
    const deep = await inbox.listConversations({}, null, 1);
    const deepRow = await client.query<{ lastMessageAt: Date; id: string }>(
      `SELECT "lastMessageAt", id FROM "Conversation" ORDER BY "lastMessageAt" DESC, id DESC OFFSET ${Math.floor(CONVERSATIONS * 0.8)} LIMIT 1`,
    );
    const deepCursor = inbox.conversationCursorAfter({ lastMessageAt: deepRow.rows[0]!.lastMessageAt.toISOString(), id: deepRow.rows[0]!.id });
    const reviewDeep = await client.query<{ margin: number; id: string }>(`
      SELECT ("intentProbability" - COALESCE("runnerUpProbability", 0)) AS margin, id FROM "Message"
      WHERE role = 'customer' AND NOT reviewed AND "intentProbability" IS NOT NULL
      ORDER BY margin, id OFFSET 20000 LIMIT 1`);
    const reviewCursor = Buffer.from(JSON.stringify([reviewDeep.rows[0]!.margin, reviewDeep.rows[0]!.id])).toString("base64url");
    void deep;

    type Sql = import("../lib/generated/prisma/client").Prisma.Sql;
    type Case = { group: "list" | "search" | "review" | "other"; name: string; run: () => Promise<unknown>; sql: () => Promise<Sql[]> | Sql[] };
    const list = (name: string, filters: import("../lib/protocol/staff").InboxFilters, cursor: string | null = null): Case => ({
      group: filters.q ? "search" : "list",
      name,
      run: () => inbox.listConversations(filters, cursor, inbox.DEFAULT_PAGE_SIZE),
      sql: () => inbox.listConversationsStatements(filters, cursor, inbox.DEFAULT_PAGE_SIZE + 1),
    });
    const cases: Case[] = [
      list("default (newest first)", {}),
      list("status=waiting_for_agent", { status: ["waiting_for_agent"] }),
      list("status=closed", { status: ["closed"] }),
      list("status=bot,agent", { status: ["bot", "agent"] }),
      list("intent=returns_refunds", { intent: "returns_refunds" }),
      list("confidence 0.30–0.40", { minConfidence: 0.3, maxConfidence: 0.4 }),
      list("confidence ≥ 0.9", { minConfidence: 0.9 }),
      list("date range (7 days)", { from, to }),
      list("hasCorrection=true", { hasCorrection: true }),
      list("status+intent+confidence", { status: ["closed"], intent: "order_status", maxConfidence: 0.5 }),
      list("deep page (80,000 rows in)", {}, deepCursor),
      list(`search rare word "${RARE_WORD}"`, { q: RARE_WORD }),
      list(`search medium word "${MEDIUM_WORD}"`, { q: MEDIUM_WORD }),
      list(`search "${RARE_WORD}" + status=closed`, { q: RARE_WORD, status: ["closed"] }),
      list('search "refunds" (stemmed)', { q: "refunds" }),
      list('search "parcel damaged"', { q: "parcel damaged" }),
      list('search common word "order"', { q: "order" }),
      list('search phrase "wrong size" + status', { q: '"wrong size"', status: ["closed"] }),
      {
        group: "review",
        name: "review queue, first page",
        run: () => inbox.reviewQueue(null, inbox.DEFAULT_PAGE_SIZE),
        sql: () => [inbox.reviewQueueSql(null, inbox.DEFAULT_PAGE_SIZE + 1)],
      },
      {
        group: "review",
        name: "review queue, 20,000 in",
        run: () => inbox.reviewQueue(reviewCursor, inbox.DEFAULT_PAGE_SIZE),
        sql: () => [inbox.reviewQueueSql(reviewCursor, inbox.DEFAULT_PAGE_SIZE + 1)],
      },
      {
        group: "other",
        name: "waiting queue (oldest first, ≤500)",
        run: () => inbox.waitingQueue(),
        sql: () => [inbox.waitingQueueSql(inbox.WAITING_QUEUE_LIMIT)],
      },
    ];

    const sizes = await client.query<{ relname: string; n: number }>(
      `SELECT relname, reltuples::float8 AS n FROM pg_class WHERE relname IN ('Conversation', 'Message')`,
    );
    const tableRows: Record<string, number> = Object.fromEntries(sizes.rows.map((r) => [r.relname, r.n]));
    console.log(`\n${"query".padEnd(40)} ${"rows".padStart(5)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)}   plan`);
    const worst = { list: 0, search: 0, review: 0, other: 0 };
    const problems: string[] = [];
    for (const c of cases) {
      for (let i = 0; i < 3; i++) await c.run(); // warm
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        const r = (await c.run()) as { items?: unknown[] } | unknown[];
        times.push(performance.now() - t);
        rows = Array.isArray(r) ? r.length : (r.items?.length ?? 0);
      }
      const nodes: PlanNode[] = [];
      for (const sql of await c.sql()) {
        const { rows: plan } = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) ${sql.text}`,
          sql.values as unknown[],
        );
        walk(plan[0]!["QUERY PLAN"][0].Plan, nodes);
      }
      // A sequential scan is a problem when it reads a sizeable part of the table; one stopped early
      // by a LIMIT (the search probe on a very common word: matches are dense) is not.
      const seq = nodes.filter(
        (n) => n["Node Type"] === "Seq Scan" && (n["Relation Name"] === "Conversation" || n["Relation Name"] === "Message") && rowsRead(n) > 0.05 * (tableRows[n["Relation Name"]] ?? 0),
      );
      const earlySeq = nodes
        .filter((n) => n["Node Type"] === "Seq Scan" && (n["Relation Name"] === "Conversation" || n["Relation Name"] === "Message") && !seq.includes(n))
        .map((n) => `Seq(stopped by LIMIT after ${rowsRead(n)} rows):${n["Relation Name"]}`);
      const used = [...new Set([...nodes.filter((n) => n["Index Name"]).map((n) => `${n["Node Type"].replace(" Scan", "")}:${n["Index Name"]}`), ...earlySeq])];
      if (seq.length) problems.push(`${c.name}: sequential scan of ${seq.map((n) => n["Relation Name"]).join(", ")}`);
      const p95 = pct(times, 95);
      worst[c.group] = Math.max(worst[c.group], p95);
      console.log(
        `${c.name.padEnd(40)} ${String(rows).padStart(5)} ${ms(pct(times, 50)).padStart(8)} ${ms(p95).padStart(8)}   ${seq.length ? "SEQ SCAN " : ""}${used.join(", ") || "(no index)"}`,
      );
    }
    console.log(problems.length ? `\nplans: ${problems.length} problem(s):\n  ${problems.join("\n  ")}` : "\nplans: every query uses indexes; no sequential scan of Conversation or Message");
    await db().$disconnect();
    failed = problems.length > 0;
    console.log(
      `RESULT conversations=${CONVERSATIONS} list_p95_ms=${ms(worst.list)} search_p95_ms=${ms(worst.search)} review_p95_ms=${ms(worst.review)}`,
    );
  } finally {
    await client?.end();
    if (args.keep) console.error(`kept database: ${database.url}`);
    else await database.drop();
  }
  if (failed) process.exitCode = 1;
}

await main();
