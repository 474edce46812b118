/**
 * Office hours and offline follow-up (issue 16 item 3) through the real path: a server of this file's
 * own sending through a real local SMTP server (smtp-server) started here, real socket.io customers and
 * agents, PostgreSQL, the admin API and the link's page; and the shared server (no SMTP_URL) writing
 * to the outbox. Each refusal (an office-hours configuration that never opens, an invalid or
 * header-injecting email address, a forged or expired link) stores nothing.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { SMTPServer } from "smtp-server";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { offlineHandoffReply, TEMPLATE_REPLIES } from "@/lib/chat/decide";
import { signFollowUpLink } from "@/lib/follow-up-link";
import { describeHours } from "@/lib/office-hours";
import type { ChatMessage, HistoryAck } from "@/lib/protocol/chat";
import { ErrorCode } from "@/lib/protocol/errors";
import { ALWAYS_OPEN, officeHoursSchema, type OfficeHoursInput } from "@/lib/protocol/office-hours";
import type { ServerToStaffEvents, StaffToServerEvents } from "@/lib/protocol/staff";
import { connectCustomer, nextEvent, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { startServer, type RunningServer } from "../helpers/server";
import { staffApi, staffLogin } from "../helpers/staff";

const sharedUrl = inject("serverUrl");
const databaseUrl = inject("databaseUrl");
process.env.DATABASE_URL = databaseUrl;
const { createStaffUser } = await import("@/lib/auth/session");

const SECRET = "follow-up-secret-follow-up-secret-0123456";
const PUBLIC_URL = "https://support.northwind.example";
const PASSWORD = "correct horse battery staple";
const ASK = "I want to talk to a real person please";

type StaffClient = Socket<ServerToStaffEvents, StaffToServerEvents>;
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const sockets: Socket[] = [];

interface Delivered {
  from: string;
  to: string[];
  subject: string;
  body: string;
}
const delivered: Delivered[] = [];
let smtp: SMTPServer;
let server: RunningServer;
let admin: string;
let agent: { name: string; cookie: string };

/** A message body as sent: quoted-printable undone (nodemailer folds long lines such as the link). */
function decodeBody(raw: string): { subject: string; body: string } {
  const [head, ...rest] = raw.split("\r\n\r\n");
  const headers = head!.replace(/\r\n[ \t]+/g, " ");
  const subject = /^Subject: (.*)$/im.exec(headers)?.[1] ?? "";
  let body = rest.join("\r\n\r\n");
  if (/^Content-Transfer-Encoding: quoted-printable$/im.test(headers)) {
    body = Buffer.from(body.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), "latin1").toString("utf8");
  }
  return { subject, body };
}

async function staffMember(role: "agent" | "admin", name: string, url: string) {
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
  await createStaffUser({ email, name, role, password: PASSWORD });
  return { name, cookie: await staffLogin(url, email, PASSWORD) };
}

function connectStaff(url: string, cookie: string): Promise<StaffClient> {
  // A connection of its own: socket.io multiplexes namespaces over one per origin, and a customer's has no cookie.
  const socket: StaffClient = io(`${url}/staff`, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { cookie } });
  sockets.push(socket as Socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

async function customer(url: string): Promise<ChatClient> {
  const { socket } = await connectCustomer(url);
  sockets.push(socket as Socket);
  return socket;
}

const disconnected = (s: Socket) => new Promise<void>((resolve) => (s.disconnected ? resolve() : (s.once("disconnect", () => resolve()), s.disconnect())));

/** Asks for a person and returns the handoff reply (text and whether it asks for an email) with the conversation. */
async function askForPerson(socket: ChatClient) {
  const done = nextEvent<{ messageId: string; askEmail?: true }>(socket, "chat:done");
  const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: ASK });
  if (!r.ack.ok) throw new Error(r.ack.error.code);
  return { conversationId: r.ack.conversationId, text: r.text, askEmail: (await done).askEmail === true };
}

const putHours = (url: string, body: unknown) => staffApi(url, "/api/staff/admin/office-hours", { method: "PUT", cookie: admin, body });

async function conversationRow(id: string) {
  return (
    await pool.query(
      `SELECT c.status::text, c."emailFollowUp", cu.email, (SELECT count(*)::int FROM "Message" m WHERE m."conversationId" = c.id) AS messages
       FROM "Conversation" c JOIN "Customer" cu ON cu.id = c."customerId" WHERE c.id = $1`,
      [id],
    )
  ).rows[0] as { status: string; emailFollowUp: boolean; email: string | null; messages: number };
}

/** Hours under which support is closed right now: every day open, but today and tomorrow (UTC) are holidays. */
function closedToday(): OfficeHoursInput {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  return { ...ALWAYS_OPEN, holidays: [day(-1), day(0), day(1)] };
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        delivered.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          ...decodeBody(Buffer.concat(chunks).toString("utf8")),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  server = await startServer({
    DATABASE_URL: databaseUrl,
    LOOPDESK_MODELS_DIR: inject("modelsDir"),
    LM_MAX_NEW_TOKENS: "24",
    CUSTOMER_TOKEN_SECRET: SECRET,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_FROM: "Northwind Goods support <support@northwind.example>",
    PUBLIC_URL,
    FOLLOW_UP_LINK_DAYS: "3",
  });
  admin = (await staffMember("admin", "Avery", server.url)).cookie;
  agent = await staffMember("agent", "Alex", server.url);
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  // The shared server's other tests expect support always open, as without a setting.
  await pool.query(`DELETE FROM "OfficeHoursSetting"`);
  await server?.stop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await pool.end();
});

describe("office hours", () => {
  it("refuses a configuration that never opens, or is otherwise invalid, and stores nothing", async () => {
    const never = { timeZone: "Europe/Berlin", days: Object.fromEntries(Object.keys(ALWAYS_OPEN.days).map((d) => [d, null])), holidays: [] };
    const res = await putHours(server.url, never);
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({ code: "invalid_payload", message: "days: these office hours never open: give at least one day opening hours" });
    const badZone = await putHours(server.url, { ...ALWAYS_OPEN, timeZone: "Mars/Olympus" });
    expect(badZone.json.error.message).toBe("timeZone: an IANA time zone such as Europe/Berlin");
    expect((await pool.query(`SELECT count(*)::int AS n FROM "OfficeHoursSetting"`)).rows[0].n).toBe(0);
    expect((await staffApi(server.url, "/api/staff/admin/office-hours", { cookie: admin })).json).toMatchObject({ configured: false, openNow: true });
    // Agents may not change them.
    expect((await staffApi(server.url, "/api/staff/admin/office-hours", { method: "PUT", cookie: agent.cookie, body: ALWAYS_OPEN })).status).toBe(403);
  });

  it("within hours but with nobody online, a handoff says so and asks for an email address", async () => {
    expect((await putHours(server.url, ALWAYS_OPEN)).json).toMatchObject({ configured: true, openNow: true, description: "Mon–Sun all day (UTC time)" });
    const handoff = await askForPerson(await customer(server.url));
    expect(handoff.text).toBe(offlineHandoffReply("asked_for_human", "nobody_online", describeHours(ALWAYS_OPEN)));
    expect(handoff.askEmail).toBe(true);
    expect((await conversationRow(handoff.conversationId)).status).toBe("waiting_for_agent");
  });

  it("an agent with the console open but set away is not online: the handoff asks for an email address", async () => {
    const away = await connectStaff(server.url, agent.cookie);
    try {
      const handoff = await askForPerson(await customer(server.url));
      expect(handoff).toMatchObject({ text: offlineHandoffReply("asked_for_human", "nobody_online", describeHours(ALWAYS_OPEN)), askEmail: true });
    } finally {
      await disconnected(away as Socket);
    }
  });

  it("with an agent online within hours, a handoff is the usual one and asks for nothing", async () => {
    const availability = (value: string) => staffApi(server.url, "/api/staff/availability", { method: "PUT", cookie: agent.cookie, body: { availability: value } });
    const online = await connectStaff(server.url, agent.cookie);
    expect((await availability("online")).status).toBe(200);
    try {
      const handoff = await askForPerson(await customer(server.url));
      expect(handoff).toMatchObject({ text: TEMPLATE_REPLIES.asked_for_human, askEmail: false });
    } finally {
      expect((await availability("away")).status).toBe(200);
      await disconnected(online as Socket);
    }
  });
});

describe("offline follow-up by email", () => {
  let socket: ChatClient;
  let conversationId: string;
  let link: string;
  const EMAIL = "Ana.Lopez+orders@Example.com";
  const STORED = "Ana.Lopez+orders@example.com";

  it("outside office hours, a handoff tells the customer honestly and asks for an email address, even with an agent's console open", async () => {
    const hours = closedToday();
    const saved = await putHours(server.url, hours);
    expect(saved.json).toMatchObject({ configured: true, openNow: false });
    const online = await connectStaff(server.url, agent.cookie);
    socket = await customer(server.url);
    const handoff = await askForPerson(socket);
    await disconnected(online as Socket);
    conversationId = handoff.conversationId;
    expect(handoff.text).toBe(offlineHandoffReply("asked_for_human", "closed", describeHours(officeHoursSchema.parse(hours))));
    expect(handoff.text).toContain("Our support team is not available right now");
    expect(handoff.askEmail).toBe(true);
    const history = (await socket.emitWithAck("chat:history", { conversationId })) as HistoryAck;
    if (!history.ok) throw new Error(history.error.code);
    expect(history.messages.at(-1)).toMatchObject({ role: "bot", askEmail: true });
  });

  it("refuses an invalid or header-injecting email address and stores nothing", async () => {
    const before = await conversationRow(conversationId);
    for (const email of ["ana@example.com\r\nBcc: victim@example.org", "ana@example.com\nSubject: hi", "not an address", "Ana <ana@example.com>", "a@b.c, eve@example.org", "x".repeat(300) + "@example.com"]) {
      const ack = await socket.emitWithAck("chat:email", { conversationId, email });
      expect(ack).toMatchObject({ ok: false, error: { code: ErrorCode.invalidEmail } });
    }
    expect(await socket.emitWithAck("chat:email", { conversationId, email: 42 } as never)).toMatchObject({ ok: false, error: { code: ErrorCode.invalidEmail } });
    expect(await socket.emitWithAck("chat:email", { conversationId: "nope", email: EMAIL })).toMatchObject({ ok: false, error: { code: ErrorCode.invalidPayload } });
    // Another customer's conversation is not theirs to follow up.
    const other = await customer(server.url);
    expect(await other.emitWithAck("chat:email", { conversationId, email: "eve@example.org" })).toMatchObject({ ok: false, error: { code: ErrorCode.unknownConversation } });
    expect(await conversationRow(conversationId)).toEqual(before);
    expect(before).toMatchObject({ emailFollowUp: false, email: null });
  });

  it("stores a valid address on the customer and confirms it in the chat", async () => {
    const confirmed = nextEvent<ChatMessage>(socket, "chat:message", (m) => m.role === "system");
    expect(await socket.emitWithAck("chat:email", { conversationId, email: ` ${EMAIL} ` })).toEqual({ ok: true, conversationId, email: STORED });
    expect((await confirmed).text).toContain(STORED);
    expect(await conversationRow(conversationId)).toMatchObject({ emailFollowUp: true, email: STORED, status: "waiting_for_agent" });
    // The address is part of the customer's data on request.
    const { customerId } = (await pool.query(`SELECT "customerId" FROM "Conversation" WHERE id = $1`, [conversationId])).rows[0];
    const data = await staffApi(server.url, `/api/staff/admin/customer-data?customer=${customerId}`, { cookie: admin });
    expect(data.json.customer).toMatchObject({ id: customerId, email: STORED });
  });

  it("emails the agent's reply, with a signed link back, once the customer has left", async () => {
    const alex = await connectStaff(server.url, agent.cookie);
    expect((await alex.emitWithAck("staff:takeover", { conversationId })).ok).toBe(true);
    // The customer is still on the page: the reply reaches them in the chat only.
    const live = nextEvent<ChatMessage>(socket, "chat:message", (m) => m.role === "agent");
    expect((await alex.emitWithAck("staff:send", { conversationId, clientMessageId: randomUUID(), text: "Hi, I'm looking into it." })).ok).toBe(true);
    expect((await live).text).toBe("Hi, I'm looking into it.");
    expect(delivered).toEqual([]);

    await disconnected(socket as Socket);
    const sent = await alex.emitWithAck("staff:send", { conversationId, clientMessageId: randomUUID(), text: "Your refund for NW-123456 was approved today." });
    expect(sent.ok).toBe(true);
    // The email is handed to the SMTP server before the agent's message is acknowledged.
    expect(delivered).toHaveLength(1);
    const mail = delivered[0]!;
    expect(mail.to).toEqual([STORED]);
    expect(mail.from).toBe("support@northwind.example");
    expect(mail.subject).toBe("Northwind Goods support replied to your chat");
    expect(mail.body).toContain("Alex from Northwind Goods support replied:");
    expect(mail.body).toContain("Your refund for NW-123456 was approved today.");
    const found = new RegExp(`${PUBLIC_URL}/follow-up/([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+)`).exec(mail.body);
    expect(found).not.toBeNull();
    link = found![1]!;
    expect((await alex.emitWithAck("staff:close", { conversationId })).ok).toBe(true);
    await disconnected(alex as Socket);
  });

  it("the link opens the conversation as its customer, and their reply in the chat reopens it", async () => {
    const page = await fetch(`${server.url}/follow-up/${link}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Opening your conversation");
    const token = /v1\.[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}/.exec(html)?.[0];
    expect(token).toBeDefined();

    const back = (await connectCustomer(server.url, token)).socket;
    sockets.push(back as Socket);
    const history = (await back.emitWithAck("chat:history", { conversationId })) as HistoryAck;
    if (!history.ok) throw new Error(history.error.code);
    expect(history.status).toBe("closed");
    expect(history.messages.map((m) => m.text)).toContain("Your refund for NW-123456 was approved today.");

    const reopened = nextEvent<{ conversationId: string; status: string }>(back, "chat:status", (s) => s.conversationId === conversationId);
    const ack = await back.emitWithAck("chat:send", { conversationId, clientMessageId: randomUUID(), text: "Thanks! When will I see the money?" });
    expect(ack).toMatchObject({ ok: true, conversationId });
    expect((await reopened).status).toBe("waiting_for_agent");
    expect(await conversationRow(conversationId)).toMatchObject({ status: "waiting_for_agent" });
  });

  it("a forged or expired link gives a clear error page and opens nothing", async () => {
    const [payload, mac] = link.split(".");
    const forged = `${payload}.${mac!.startsWith("A") ? "B" : "A"}${mac!.slice(1)}`;
    const signedElsewhere = signFollowUpLink({ conversationId, customerId: randomUUID(), expiresAt: new Date(Date.now() + 86_400_000) }, "another-secret-another-secret-another-0000");
    for (const bad of [forged, signedElsewhere, "garbage"]) {
      const html = await (await fetch(`${server.url}/follow-up/${bad}`)).text();
      expect(html).toContain("This link is not valid");
      expect(html).not.toMatch(/v1\.[0-9a-f-]{36}\./);
    }
    const row = (await pool.query(`SELECT "customerId" FROM "Conversation" WHERE id = $1`, [conversationId])).rows[0];
    const expired = signFollowUpLink({ conversationId, customerId: row.customerId, expiresAt: new Date(Date.now() - 1000) }, SECRET);
    const html = await (await fetch(`${server.url}/follow-up/${expired}`)).text();
    expect(html).toContain("This link has expired");
    expect(html).not.toMatch(/v1\.[0-9a-f-]{36}\./);
  });
});

describe("without SMTP_URL", () => {
  it("writes the agent's reply to the outbox, which the admin page's API lists", async () => {
    // The shared server has no SMTP_URL; no setting means always open, and nobody is online there.
    const sharedAdmin = (await staffMember("admin", "Ari", sharedUrl)).cookie;
    const sharedAgent = await staffMember("agent", "Sam", sharedUrl);
    const socket = await customer(sharedUrl);
    await pool.query(`DELETE FROM "OfficeHoursSetting"`);
    const handoff = await askForPerson(socket);
    expect(handoff.askEmail).toBe(true);
    const email = `outbox-${randomUUID().slice(0, 8)}@example.com`;
    expect((await socket.emitWithAck("chat:email", { conversationId: handoff.conversationId, email })).ok).toBe(true);
    await disconnected(socket as Socket);

    const sam = await connectStaff(sharedUrl, sharedAgent.cookie);
    expect((await sam.emitWithAck("staff:takeover", { conversationId: handoff.conversationId })).ok).toBe(true);
    expect((await sam.emitWithAck("staff:send", { conversationId: handoff.conversationId, clientMessageId: randomUUID(), text: "We found your parcel." })).ok).toBe(true);
    await disconnected(sam as Socket);

    const outbox = await staffApi(sharedUrl, "/api/staff/admin/outbox", { cookie: sharedAdmin });
    expect(outbox.status).toBe(200);
    const mail = outbox.json.emails.find((e: { to: string }) => e.to === email);
    expect(mail).toMatchObject({ subject: "Northwind Goods support replied to your chat", conversationId: handoff.conversationId });
    expect(mail.text).toContain("We found your parcel.");
    expect(mail.text).toMatch(/\/follow-up\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
    expect((await staffApi(sharedUrl, "/api/staff/admin/outbox", { cookie: sharedAgent.cookie })).status).toBe(403);
    const page = await staffApi(sharedUrl, "/staff/admin", { cookie: sharedAdmin });
    expect(page.text).toContain(email);
  });
});
