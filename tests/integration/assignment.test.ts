/**
 * Assignment and presence (issue 16 item 1) through two real server instances on one PostgreSQL
 * database and one Redis (socket.io's Redis adapter), with real /chat and /staff socket.io clients:
 * handoffs wait in the queue while nobody is online and are taken, oldest first, when an agent comes
 * online; later ones go to the online agent with the fewest open chats, round robin among equals
 * (online: set so, and with the console open on either instance);
 * reassignment refusals write nothing; only the assignee sends, others take over explicitly (audited);
 * who is viewing and typing reaches staff on the other instance.
 *
 * A database of its own: agents set online here must not take the handoffs of other test files.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ErrorCode } from "@/lib/protocol/errors";
import type { ChatMessage } from "@/lib/protocol/chat";
import type { AssignableAgent, ServerToStaffEvents, StaffPresence, StaffToServerEvents } from "@/lib/protocol/staff";
import { connectCustomer, nextEvent, sendAndWait, type ChatClient } from "../helpers/chat-client";
import { createMigratedDatabase } from "../helpers/postgres";
import { startServer, type RunningServer } from "../helpers/server";
import { connectStaff, staffApi, staffLogin } from "../helpers/staff";

type StaffClient = Socket<ServerToStaffEvents, StaffToServerEvents>;

const database = await createMigratedDatabase("loopdesk_assignment");
process.env.DATABASE_URL = database.url;
const { createStaffUser } = await import("@/lib/auth/session");
const { db } = await import("@/lib/db/client");

const env = {
  DATABASE_URL: database.url,
  LOOPDESK_MODELS_DIR: inject("modelsDir"),
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  // Rooms of this run only: another run on the same Redis shares none.
  REDIS_KEY_PREFIX: `loopdesk-test-${randomUUID()}`,
  LM_MAX_NEW_TOKENS: "24",
  CUSTOMER_TOKEN_SECRET: "assign-secret-assign-secret-assign-sec-0",
  RATE_LIMIT_CONNECTIONS_PER_IP: "100000",
  RATE_LIMIT_MESSAGES_PER_IP: "100000",
  LOGIN_ATTEMPTS_PER_ADDRESS: "100000",
};
const PASSWORD = "correct horse battery staple";
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
const servers: RunningServer[] = [];
const sockets: { disconnect: () => unknown }[] = [];

interface Member {
  id: string;
  name: string;
  cookie: string;
}

async function member(role: "agent" | "admin" | "ml", name: string): Promise<Member> {
  const email = `${name.toLowerCase()}@example.com`;
  const user = await createStaffUser({ email, name, role, password: PASSWORD });
  return { id: user.id, name, cookie: await staffLogin(servers[0]!.url, email, PASSWORD) };
}

async function staffSocket(server: RunningServer, who: Member): Promise<StaffClient> {
  const socket = await connectStaff(server.url, who.cookie).catch((err: Error) => {
    throw new Error(`${who.name}'s staff socket on ${server.url}: ${err.message}`);
  });
  sockets.push(socket);
  return socket;
}

async function rows(sql: string, params: unknown[] = []) {
  return (await pool.query(sql, params)).rows;
}

async function setAvailability(who: Member, availability: string, server = servers[0]!) {
  return staffApi(server.url, "/api/staff/availability", { method: "PUT", cookie: who.cookie, body: { availability } });
}

/** A customer on instance A whose conversation was handed to staff ("talk to a person"). */
async function handoff(): Promise<{ socket: ChatClient; conversationId: string }> {
  const { socket } = await connectCustomer(servers[0]!.url);
  sockets.push(socket);
  const waiting = nextEvent<{ status: string }>(socket, "chat:status", (s) => s.status === "waiting_for_agent", 60_000);
  const r = await sendAndWait(socket, { clientMessageId: randomUUID(), text: "I want to talk to a real person" });
  if (!r.ack.ok) throw new Error(r.ack.error.code);
  await waiting;
  return { socket, conversationId: r.ack.conversationId };
}

/** The name in the next "<name> joined the chat" the customer gets. */
async function joinedName(socket: ChatClient): Promise<string> {
  const m = await nextEvent<ChatMessage>(socket, "chat:message", (x) => x.role === "system" && x.text.endsWith(" joined the chat"), 60_000);
  return m.text.replace(/ joined the chat$/, "");
}

const assigneeOf = async (conversationId: string) =>
  (await rows(`SELECT status::text, "assignedStaffId" FROM "Conversation" WHERE id = $1`, [conversationId]))[0] as { status: string; assignedStaffId: string | null };

let alex: Member, blake: Member, casey: Member, dana: Member, erin: Member, fiona: Member, gale: Member, morgan: Member;

beforeAll(async () => {
  // One after the other: the first registers the seed classifier in the fresh database (two at once
  // race on that insert and one exits).
  servers.push(await startServer(env));
  servers.push(await startServer(env));
  alex = await member("agent", "Alex");
  blake = await member("agent", "Blake");
  casey = await member("agent", "Casey");
  dana = await member("admin", "Dana");
  erin = await member("agent", "Erin");
  fiona = await member("agent", "Fiona");
  gale = await member("agent", "Gale");
  morgan = await member("ml", "Morgan");
  // Erin is online but her account is disabled: she is never assigned anything.
  await pool.query(`UPDATE "StaffUser" SET availability = 'online', disabled = true WHERE id = $1`, [erin.id]);
  // Gale set herself online but never has the console open: she is never assigned anything either.
  await pool.query(`UPDATE "StaffUser" SET availability = 'online' WHERE id = $1`, [gale.id]);
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
  await pool.end();
  await db().$disconnect();
  await database.drop();
});

describe("availability", () => {
  it("starts away, is set and read per staff member, and refuses a bad value changing nothing", async () => {
    const url = servers[1]!.url;
    expect((await staffApi(url, "/api/staff/availability", { cookie: alex.cookie })).json).toEqual({ availability: "away" });
    const bad = await staffApi(url, "/api/staff/availability", { method: "PUT", cookie: alex.cookie, body: { availability: "busy" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_payload");
    const extra = await staffApi(url, "/api/staff/availability", { method: "PUT", cookie: alex.cookie, body: { availability: "online", staffId: blake.id } });
    expect(extra.status).toBe(400);
    expect((await rows(`SELECT availability::text FROM "StaffUser" WHERE id = ANY($1)`, [[alex.id, blake.id]])).map((r) => r.availability)).toEqual(["away", "away"]);
    // The ML role is not support staff: no availability of its own.
    expect((await staffApi(url, "/api/staff/availability", { cookie: morgan.cookie })).status).toBe(403);
  });
});

describe("automatic assignment", () => {
  const conversations: { socket: ChatClient; conversationId: string }[] = [];
  let consoles: StaffClient[];

  beforeAll(async () => {
    consoles = await Promise.all([staffSocket(servers[0]!, alex), staffSocket(servers[1]!, blake), staffSocket(servers[0]!, casey)]);
  });

  it("a handoff waits in the queue, unassigned, while nobody is online", async () => {
    conversations.push(await handoff(), await handoff());
    for (const c of conversations) expect(await assigneeOf(c.conversationId)).toEqual({ status: "waiting_for_agent", assignedStaffId: null });
  });

  it("the first agent to come online takes the waiting chats, oldest first", async () => {
    const told = conversations.map((c) => joinedName(c.socket));
    expect((await setAvailability(alex, "online")).json).toEqual({ availability: "online" });
    expect(await Promise.all(told)).toEqual(["Alex", "Alex"]);
    for (const c of conversations) expect(await assigneeOf(c.conversationId)).toEqual({ status: "agent", assignedStaffId: alex.id });
    const joined = await rows(
      `SELECT "conversationId" FROM "Message" WHERE role = 'system' AND text = 'Alex joined the chat' AND "conversationId" = ANY($1) ORDER BY "createdAt"`,
      [conversations.map((c) => c.conversationId)],
    );
    expect(joined.map((r) => r.conversationId)).toEqual(conversations.map((c) => c.conversationId));
  });

  it("later handoffs go to the online agent with the fewest open chats, round robin among equals", async () => {
    await setAvailability(blake, "online");
    await setAvailability(casey, "online", servers[1]);
    // Alex has 2 open chats, Blake and Casey none (and disabled Erin is never picked).
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await handoff();
      conversations.push(c);
      order.push(await joinedName(c.socket));
    }
    const [x, y] = order;
    expect([x, y].sort()).toEqual(["Blake", "Casey"]);
    // Then Blake and Casey have one each: the one assigned longest ago, then the other (now fewest);
    // then all three have two: Alex, assigned longest ago.
    expect(order.slice(2)).toEqual([x, y, "Alex"]);
    const agents = await staffApi<{ agents: AssignableAgent[] }>(servers[1]!.url, "/api/staff/agents", { cookie: blake.cookie });
    const open = Object.fromEntries(agents.json.agents.map((a) => [a.name, a.openChats]));
    expect(open).toEqual({ Alex: 3, Blake: 2, Casey: 2, Dana: 0, Fiona: 0, Gale: 0 });
    expect(agents.json.agents.map((a) => a.availability)).toEqual(["online", "online", "online", "online", "away", "away"]);
  });

  it("an agent who is online but has closed the console gets nothing until they open it again", async () => {
    // Everyone's console leaves; Dana (away) watching a conversation with them sees when they are gone.
    const [first] = conversations;
    const dana1 = await staffSocket(servers[1]!, dana);
    for (const s of [...consoles, dana1]) expect((await s.timeout(15_000).emitWithAck("staff:watch", { conversationId: first!.conversationId })).ok).toBe(true);
    const alone = nextEvent<StaffPresence>(dana1, "staff:presence", (p) => p.viewers.map((v) => v.name).join() === "Dana", 15_000);
    for (const s of consoles) s.disconnect();
    await alone;

    const waiting = await handoff();
    expect(await assigneeOf(waiting.conversationId)).toEqual({ status: "waiting_for_agent", assignedStaffId: null });
    // Fiona sets herself online (still no console), then opens it: the chat is hers.
    await setAvailability(fiona, "online");
    expect(await assigneeOf(waiting.conversationId)).toEqual({ status: "waiting_for_agent", assignedStaffId: null });
    const told = joinedName(waiting.socket);
    await staffSocket(servers[1]!, fiona);
    expect(await told).toBe("Fiona");
  });
});

describe("reassigning, sending and taking over", () => {
  let conversationId: string;
  let customer: ChatClient;
  let alexSocket: StaffClient;
  let blakeSocket: StaffClient;
  let caseySocket: StaffClient;
  let danaSocket: StaffClient;

  const snapshot = async () => ({
    conversation: await assigneeOf(conversationId),
    messages: (await rows(`SELECT count(*)::int AS n FROM "Message" WHERE "conversationId" = $1`, [conversationId]))[0].n,
    audit: (await rows(`SELECT count(*)::int AS n FROM "AuditLog" WHERE subject = $1`, [conversationId]))[0].n,
    blakeAssignedAt: (await rows(`SELECT "lastAssignedAt" FROM "StaffUser" WHERE id = $1`, [blake.id]))[0].lastAssignedAt,
  });

  beforeAll(async () => {
    for (const who of [blake, casey, fiona]) await setAvailability(who, "away");
    [alexSocket, blakeSocket, caseySocket, danaSocket] = await Promise.all([
      staffSocket(servers[0]!, alex),
      staffSocket(servers[1]!, blake),
      staffSocket(servers[0]!, casey),
      staffSocket(servers[1]!, dana),
    ]);
    // Alex is the only agent online with the console open.
    ({ socket: customer, conversationId } = await handoff());
    expect(await joinedName(customer)).toBe("Alex");
  });

  it("refuses to assign to an agent who is away, without the console, disabled, not support staff or unknown, writing nothing", async () => {
    const before = await snapshot();
    const cases: [string, ErrorCode][] = [
      [blake.id, ErrorCode.agentOffline],
      [gale.id, ErrorCode.agentOffline],
      [erin.id, ErrorCode.agentDisabled],
      [morgan.id, ErrorCode.unknownAgent],
      [randomUUID(), ErrorCode.unknownAgent],
    ];
    for (const [staffId, code] of cases) {
      expect(await alexSocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId })).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });
    }
    expect(await alexSocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId: "blake" } as never)).toMatchObject({ ok: false, error: { code: ErrorCode.invalidPayload } });
    expect(await snapshot()).toEqual(before);
  });

  it("only an admin or the assignee may reassign", async () => {
    await setAvailability(blake, "online");
    const before = await snapshot();
    expect(await caseySocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId: blake.id })).toMatchObject({ ok: false, error: { code: ErrorCode.notAssigned } });
    expect(await snapshot()).toEqual(before);

    const told = joinedName(customer);
    const ack = await alexSocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId: blake.id });
    expect(ack).toMatchObject({ ok: true, status: "agent", assignedStaff: { id: blake.id, name: "Blake" } });
    expect(await told).toBe("Blake");
    // Alex no longer holds it: he may not reassign it again.
    expect(await alexSocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId: alex.id })).toMatchObject({ ok: false, error: { code: ErrorCode.notAssigned } });
    // An admin may, anyone's.
    expect(await danaSocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId: alex.id })).toMatchObject({ ok: true, assignedStaff: { id: alex.id } });
    expect(await danaSocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId: blake.id })).toMatchObject({ ok: true, assignedStaff: { id: blake.id } });
    const audited = await rows(`SELECT actor, action, details FROM "AuditLog" WHERE subject = $1 ORDER BY "createdAt"`, [conversationId]);
    expect(audited).toEqual([
      { actor: "alex@example.com", action: "conversation.assign", details: { from: alex.id, to: blake.id } },
      { actor: "dana@example.com", action: "conversation.assign", details: { from: blake.id, to: alex.id } },
      { actor: "dana@example.com", action: "conversation.assign", details: { from: alex.id, to: blake.id } },
    ]);
  });

  it("only the assignee sends; another agent takes over explicitly, recorded, and then only they send", async () => {
    const send = (s: StaffClient, text: string) => s.timeout(15_000).emitWithAck("staff:send", { conversationId, clientMessageId: randomUUID(), text });
    expect(await send(alexSocket, "Alex here")).toMatchObject({ ok: false, error: { code: ErrorCode.notAssigned } });
    expect(await send(blakeSocket, "Blake here")).toMatchObject({ ok: true });
    // A plain take-over does not take it from Blake.
    expect(await alexSocket.timeout(15_000).emitWithAck("staff:takeover", { conversationId })).toMatchObject({ ok: false, error: { code: ErrorCode.alreadyAssigned } });
    expect((await assigneeOf(conversationId)).assignedStaffId).toBe(blake.id);

    expect((await blakeSocket.timeout(15_000).emitWithAck("staff:watch", { conversationId })).ok).toBe(true);
    const seenByBlake = nextEvent<{ assignedStaff: { id: string } | null }>(blakeSocket, "staff:conversation", (s) => s.assignedStaff?.id === alex.id, 15_000);
    const told = joinedName(customer);
    expect(await alexSocket.timeout(15_000).emitWithAck("staff:takeover", { conversationId, force: true })).toMatchObject({ ok: true, status: "agent", assignedStaff: { id: alex.id } });
    expect(await told).toBe("Alex");
    await seenByBlake;
    expect(await send(blakeSocket, "Blake again")).toMatchObject({ ok: false, error: { code: ErrorCode.notAssigned } });
    expect(await send(alexSocket, "Alex here now")).toMatchObject({ ok: true });
    const [takeover] = await rows(`SELECT actor, details FROM "AuditLog" WHERE subject = $1 AND action = 'conversation.takeover'`, [conversationId]);
    expect(takeover).toEqual({ actor: "alex@example.com", details: { from: blake.id, fromStatus: "agent", to: alex.id } });
    const texts = (await rows(`SELECT role::text, text FROM "Message" WHERE "conversationId" = $1 AND role = 'agent' ORDER BY "createdAt"`, [conversationId])).map((r) => r.text);
    expect(texts).toEqual(["Blake here", "Alex here now"]);
    // A closed conversation cannot be taken over or reassigned.
    expect(await alexSocket.timeout(15_000).emitWithAck("staff:close", { conversationId })).toMatchObject({ ok: true, status: "closed" });
    expect(await blakeSocket.timeout(15_000).emitWithAck("staff:takeover", { conversationId, force: true })).toMatchObject({ ok: false, error: { code: ErrorCode.conversationClosed } });
    expect(await danaSocket.timeout(15_000).emitWithAck("staff:assign", { conversationId, staffId: blake.id })).toMatchObject({ ok: false, error: { code: ErrorCode.conversationClosed } });
  });
});

describe("presence across instances", () => {
  it("staff on either instance see who is viewing a conversation and who is typing in it", async () => {
    const { socket: customer, conversationId } = await handoff();
    const [onA, onB] = await Promise.all([staffSocket(servers[0]!, alex), staffSocket(servers[1]!, blake)]);
    const names = (p: StaffPresence) => p.viewers.map((v) => v.name).join(",");
    const viewing = (s: StaffClient, expected: string) =>
      nextEvent<StaffPresence>(s, "staff:presence", (p) => p.conversationId === conversationId && names(p) === expected, 15_000);

    // Alex takes it (whoever the automatic assignment picked), which makes him a viewer.
    const aloneA = viewing(onA, "Alex");
    expect(await onA.timeout(15_000).emitWithAck("staff:takeover", { conversationId, force: true })).toMatchObject({ ok: true, assignedStaff: { id: alex.id } });
    await aloneA;
    const bothA = viewing(onA, "Alex,Blake");
    const bothB = viewing(onB, "Alex,Blake");
    expect(await onB.timeout(15_000).emitWithAck("staff:watch", { conversationId })).toMatchObject({ ok: true });
    await Promise.all([bothA, bothB]);

    // Blake (not the assignee) types on B: Alex on A sees it, the customer does not.
    const agentTyping: unknown[] = [];
    customer.on("chat:agent-typing", (p) => agentTyping.push(p));
    const typing = nextEvent<{ conversationId: string; staff: { id: string; name: string } }>(onA, "staff:typing", (p) => p.conversationId === conversationId, 15_000);
    expect(await onB.timeout(15_000).emitWithAck("staff:typing", { conversationId })).toEqual({ ok: true, conversationId });
    expect(await typing).toEqual({ conversationId, staff: { id: blake.id, name: "Blake" } });

    // Alex, the assignee, types on A: the customer and Blake on B both see it.
    const atCustomer = nextEvent<{ name: string }>(customer, "chat:agent-typing", () => true, 15_000);
    const atB = nextEvent<{ staff: { name: string } }>(onB, "staff:typing", (p) => p.staff.name === "Alex", 15_000);
    expect(await onA.timeout(15_000).emitWithAck("staff:typing", { conversationId })).toEqual({ ok: true, conversationId });
    expect((await atCustomer).name).toBe("Alex");
    await atB;
    expect(agentTyping).toEqual([{ conversationId, name: "Alex" }]);

    // Blake closes his tab on B: Alex on A sees him gone. Alex's unwatch empties the room.
    const leftA = viewing(onA, "Alex");
    onB.disconnect();
    await leftA;
    const second = await staffSocket(servers[1]!, blake);
    const onlyBlake = viewing(second, "Blake");
    const backB = viewing(second, "Alex,Blake");
    expect((await second.timeout(15_000).emitWithAck("staff:watch", { conversationId })).ok).toBe(true);
    await backB;
    expect(await onA.timeout(15_000).emitWithAck("staff:unwatch", { conversationId })).toEqual({ ok: true, conversationId });
    await onlyBlake;
  });
});
