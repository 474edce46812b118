/**
 * The one Loopdesk process: Next.js pages and API routes plus socket.io on the same port.
 * Models load while Next prepares; /api/health answers 503 until they are warm.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import next from "next";
import { Server } from "socket.io";
import { config } from "./lib/config";
import { log } from "./lib/log";
import { CLIENT_ADDRESS_HEADER } from "./lib/http";
import { serveMetrics, watchSockets } from "./lib/metrics";
import { redisAdapter } from "./lib/redis";
import { loadModels } from "./lib/models/registry";
import { startReplyWatch } from "./lib/chat/replies";
import { setSocketServer } from "./lib/chat/broadcast";
import { socketsPerAddress } from "./lib/socket/address-sockets";
import { attachChatNamespace } from "./lib/socket/chat-namespace";
import { attachStaffNamespace } from "./lib/socket/staff-namespace";
import { attachMlNamespace } from "./lib/socket/ml-namespace";
import { startTrainingWorker } from "./lib/training/queue";
import { disconnectDatabase } from "./lib/db/client";
import { seedDatabase } from "./lib/db/seed";

const cfg = config();
const dev = cfg.NODE_ENV !== "production";
const app = next({ dev, hostname: cfg.HOST, port: cfg.PORT });
const handle = app.getRequestHandler();

const httpServer = createServer((req, res) => {
  // Next's router answers a path that does not percent-decode with a bare 500; it is the client's error.
  if (!decodablePath(req.url ?? "/")) {
    res.writeHead(400, { "content-type": "application/json", "x-content-type-options": "nosniff", "cache-control": "no-store" });
    res.end(JSON.stringify({ error: { code: "invalid_path", message: "The URL is not valid." } }));
    return;
  }
  req.headers[CLIENT_ADDRESS_HEADER] = req.socket.remoteAddress ?? "unknown";
  void handle(req, res);
});

function decodablePath(url: string): boolean {
  try {
    decodeURIComponent(url.split("?")[0]!);
    return true;
  } catch {
    return false;
  }
}
const socketCap = socketsPerAddress(cfg.SOCKETS_PER_ADDRESS);
const io = new Server(httpServer, {
  serveClient: false,
  maxHttpBufferSize: 64 * 1024, // a chat message is at most 2,000 characters
  pingInterval: 20_000,
  allowRequest: socketCap.allowRequest,
});
socketCap.track(io);
// Several instances share rooms through Redis when it is configured.
if (cfg.REDIS_URL) io.adapter(await redisAdapter(cfg.REDIS_URL, cfg.REDIS_KEY_PREFIX));
attachChatNamespace(io);
attachStaffNamespace(io);
const mlReady = attachMlNamespace(io);
// Route handlers (a separate module copy inside Next's bundle) reach the sockets through this, e.g. to
// send `inbox:changed` after a label is stored.
setSocketServer(io);
watchSockets(io);
// Prometheus metrics on their own port (METRICS_PORT), never on the public one.
const stopMetrics = serveMetrics();

const modelsReady = seedDatabase().then(loadModels).catch((err: unknown) => {
  log.fatal({ err }, "could not start: is the database migrated (`npm run db:migrate`) and the model store built (`npm run models:build`)?");
  process.exit(1);
});
await app.prepare();
httpServer.listen(cfg.PORT, cfg.HOST, () => {
  const { port } = httpServer.address() as AddressInfo;
  log.info({ port, dev }, "loopdesk listening");
  // PORT=0 takes any free port: a parent that started this process with an IPC channel (the tests) learns which.
  process.send?.({ port });
});
await modelsReady;
await mlReady;
// Training runs execute in worker.ts; the embedded PGlite database can only be opened by this process,
// so without DATABASE_URL the worker runs here (the trainer itself is a child process either way).
const stopWorker = cfg.DATABASE_URL ? null : await startTrainingWorker();
// Replies a killed process left streaming are marked interrupted (now, and whenever another instance dies).
startReplyWatch(io);

async function shutdown(signal: string) {
  log.info({ signal }, "shutting down");
  await stopWorker?.();
  io.close();
  httpServer.close();
  stopMetrics();
  await disconnectDatabase();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
