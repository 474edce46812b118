/**
 * Starts the real server (server.ts) as a child process and waits for /api/health. Without a PORT it
 * binds port 0 (any free port) and reports the port it got over the IPC channel, so two servers started
 * at once can never be handed the same port.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface RunningServer {
  url: string;
  port: number;
  /** The metrics port the server bound, when METRICS_PORT was given ("0" = any free port). */
  metricsPort?: number;
  process: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Spawns the server and resolves once it listens (its models may still be loading: /api/health 503). */
export async function spawnServer(env: Record<string, string>, timeoutMs = 120_000): Promise<RunningServer> {
  const child = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
    env: { ...process.env, NODE_ENV: "production", HOST: "127.0.0.1", LOG_LEVEL: "warn", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let log = "";
  child.stdout?.on("data", (d) => (log += d));
  child.stderr?.on("data", (d) => (log += d));
  const reported: { port?: number; metricsPort?: number } = {};
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not listening after ${timeoutMs} ms:\n${log}`)), timeoutMs);
    child.on("message", (m: { port?: number; metricsPort?: number }) => {
      Object.assign(reported, m);
      if (reported.port !== undefined && (env.METRICS_PORT === undefined || reported.metricsPort !== undefined)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${log}`));
    });
  });
  await listening;
  // The server's IPC channel would keep this process alive; nothing more comes over it.
  child.disconnect();
  const port = reported.port!;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    metricsPort: reported.metricsPort,
    process: child,
    output: () => log,
    stop: stopper(child, (signal) => child.kill(signal)),
  };
}

/** Sends `kill` a signal (SIGTERM unless told) and resolves once `child` has exited. */
function stopper(child: ChildProcess, kill: (signal: NodeJS.Signals) => void): RunningServer["stop"] {
  return (signal = "SIGTERM") =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      kill(signal);
    });
}

/** Resolves once `server` answers /api/health with 200, or rejects when it exits or `timeoutMs` passes. */
export async function waitHealthy(server: RunningServer, timeoutMs = 120_000): Promise<void> {
  if (server.process.exitCode !== null) throw new Error(`server exited with ${server.process.exitCode}:\n${server.output()}`);
  const exited = new Promise<never>((_, reject) =>
    server.process.once("exit", (code) => reject(new Error(`server exited with ${code} before it was ready:\n${server.output()}`))),
  );
  exited.catch(() => {}); // the exit after stop() is expected
  const deadline = Date.now() + timeoutMs;
  const ready = (async () => {
    while (Date.now() < deadline) {
      const res = await fetch(`${server.url}/api/health`).catch(() => null);
      if (res?.status === 200) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`server not healthy after ${timeoutMs} ms:\n${server.output()}`);
  })();
  await Promise.race([ready, exited]);
}

/** The port a server bound, from its "loopdesk listening" log line (LOG_LEVEL info or lower); 0 until then. */
export function listeningPort(log: string): number {
  return Number(/"port":(\d+)[^\n]*"msg":"loopdesk listening"/.exec(log)?.[1] ?? 0);
}

/**
 * `npm start` (scripts/start.sh: the setup, then the server, with the worker beside it when DATABASE_URL
 * is set) in a process group of its own, on any free port, once healthy. `stop` ends the whole group.
 */
export async function npmStart(env: Record<string, string>, timeoutMs = 300_000): Promise<RunningServer> {
  const child = spawn("bash", ["scripts/start.sh"], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env, LOG_LEVEL: "info" },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout?.on("data", (d) => (log += d));
  child.stderr?.on("data", (d) => (log += d));
  const deadline = Date.now() + timeoutMs;
  while (listeningPort(log) === 0) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`npm start not listening after ${timeoutMs} ms:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const port = listeningPort(log);
  const server: RunningServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    output: () => log,
    stop: stopper(child, (signal) => process.kill(-child.pid!, signal)),
  };
  await waitHealthy(server, Math.max(deadline - Date.now(), 1));
  return server;
}

/** Spawns the server and waits until it is healthy (models loaded and warm). */
export async function startServer(env: Record<string, string>, timeoutMs = 120_000): Promise<RunningServer> {
  const server = await spawnServer(env, timeoutMs);
  await waitHealthy(server, timeoutMs);
  return server;
}
