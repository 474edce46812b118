/**
 * The one Loopdesk process: Next.js pages and API routes plus socket.io on the same port.
 * Models load while Next prepares; /api/health answers 503 until they are warm.
 */
import { createServer } from "node:http";
import next from "next";
import { Server } from "socket.io";
import { config } from "./lib/config";
import { log } from "./lib/log";
import { loadModels } from "./lib/models/registry";
import { attachChatNamespace } from "./lib/socket/chat-namespace";
import { attachStaffNamespace } from "./lib/socket/staff-namespace";
import { db } from "./lib/db/client";
import { seedDatabase } from "./lib/db/seed";

const cfg = config();
const dev = cfg.NODE_ENV !== "production";
const app = next({ dev, hostname: cfg.HOST, port: cfg.PORT });
const handle = app.getRequestHandler();

const httpServer = createServer((req, res) => void handle(req, res));
const io = new Server(httpServer, {
  serveClient: false,
  maxHttpBufferSize: 64 * 1024, // a chat message is at most 2,000 characters
  pingInterval: 20_000,
});
attachChatNamespace(io);
attachStaffNamespace(io);
// Route handlers (a separate module copy inside Next's bundle) reach the sockets through this, e.g. to
// send `inbox:changed` after a label is stored.
(globalThis as { __loopdeskIo?: Server }).__loopdeskIo = io;

const modelsReady = seedDatabase().then(loadModels).catch((err: unknown) => {
  log.fatal({ err }, "could not start: is the database migrated (`npm run db:migrate`) and the model store built (`npm run models:build`)?");
  process.exit(1);
});
await app.prepare();
httpServer.listen(cfg.PORT, cfg.HOST, () => log.info({ port: cfg.PORT, dev }, "loopdesk listening"));
await modelsReady;

async function shutdown(signal: string) {
  log.info({ signal }, "shutting down");
  io.close();
  httpServer.close();
  await db().$disconnect();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
