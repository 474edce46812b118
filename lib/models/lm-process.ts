/**
 * The language model as the server serves it: in a process of its own (lib/models/lm-worker.ts), so
 * its decode steps (ONNX runs, and the JavaScript around each: logits, the n-gram ban, the KV-cache
 * tensors) never hold up this process's sockets, database writes and HTTP. Behind the same
 * `LanguageModel` interface as the in-process model: text streams back piece by piece, the caller's
 * stoppers are forwarded as messages and stop the generation at its next token, and `countTokens` runs
 * here on a tokenizer of its own (the prompt builder calls it synchronously).
 *
 * A child process rather than a worker thread: a native crash or running out of memory in
 * onnxruntime then ends the model's process, not the server. When it dies, the requests in flight on
 * it fail (their replies are marked failed and the customers told) and the next request starts a new
 * one. `dispose` ends it. It runs at LM_PROCESS_NICE, so that when generation keeps the cores busy the
 * server's own work gets them first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
import { config } from "../config";
import { log } from "../log";
import type { ChatTurn, GenerationResult, GenerationStopper, LanguageModel } from "./lm";
import { loadFromDir } from "./local-files";

/** The work the model's process does: a generation (and whether its stoppers are already interrupted), or a loss. */
export type WorkerRequest =
  | { type: "generate"; turns: ChatTurn[]; maxNewTokens: number; stopped: boolean; enough: boolean }
  | { type: "answerLoss"; turns: ChatTurn[]; answer: string };

/** Messages to the model's process; `id` pairs a request with its answers. */
export type ToWorker =
  | (WorkerRequest & { id: number })
  | { type: "interrupt"; id: number; which: "stopper" | "enough" }
  | { type: "dispose" };

/** What the model's process sends back. */
export type FromWorker =
  | { type: "ready"; id: string; version: string }
  | { type: "load_failed"; message: string }
  | { type: "text"; id: number; piece: string }
  | { type: "result"; id: number; value: unknown }
  | { type: "failed"; id: number; message: string };

/** Run from the project root, as the server, the CLI, the benchmarks and the tests are: the bundled route handlers have no import.meta.dirname. */
const WORKER_FILE = path.resolve(/* turbopackIgnore: true */ process.cwd(), "lib/models/lm-worker.ts");

/** How long a disposed model's process gets to release its session before it is killed. */
const DISPOSE_GRACE_MS = 5_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onText?: (piece: string) => void;
}

/** One running model process and the requests waiting on it. */
class ModelProcess {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  alive = true;

  private constructor(readonly child: ChildProcess) {
    child.on("message", (m: FromWorker) => {
      if (m.type === "ready" || m.type === "load_failed") return;
      const request = this.pending.get(m.id);
      if (m.type === "text") return request?.onText?.(m.piece);
      this.settle(m.id);
      if (m.type === "result") request?.resolve(m.value);
      else request?.reject(new Error(m.message));
    });
    child.once("exit", (code, signal) => {
      this.alive = false;
      const err = new Error(`the language model's process exited (${signal ?? `code ${code}`})`);
      if (this.pending.size > 0) log.error({ lmPid: child.pid, requests: this.pending.size, code, signal }, "the language model's process died; its requests fail");
      for (const [id, request] of this.pending) {
        this.settle(id);
        request.reject(err);
      }
    });
    child.on("error", (err) => log.warn({ err, lmPid: child.pid }, "the language model's process reported an error"));
    // The process itself never keeps this one alive; its channel does while a request waits (`settle`).
    child.unref();
  }

  /** Starts the model's process on `dir` and resolves once it has loaded and smoke-tested the model. */
  static start(dir: string): Promise<{ process: ModelProcess; id: string; version: string }> {
    const node = [process.execPath, "--import", "tsx", WORKER_FILE, dir];
    // Under `nice` (which execs node, keeping the IPC channel) so every thread of it, onnxruntime's included, runs at that niceness.
    const nice = config().LM_PROCESS_NICE;
    const [command, ...args] = nice > 0 ? ["nice", "-n", String(nice), ...node] : node;
    const child = spawn(command!, args, { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) => reject(new Error(`the language model's process exited while loading (${signal ?? `code ${code}`})`));
      child.once("exit", onExit);
      child.once("error", reject);
      child.on("message", function loaded(m: FromWorker) {
        if (m.type !== "ready" && m.type !== "load_failed") return;
        child.off("message", loaded).off("exit", onExit).off("error", reject);
        if (m.type === "load_failed") {
          child.kill("SIGKILL");
          return reject(new Error(m.message));
        }
        const model = new ModelProcess(child);
        child.channel?.unref();
        resolve({ process: model, id: m.id, version: m.version });
      });
    });
  }

  /** Sends a request; its answer settles the promise, its text pieces go to `onText`. */
  request<T>(message: WorkerRequest, onText?: (piece: string) => void): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      if (!this.alive) return reject(new Error("the language model's process has exited"));
      if (this.pending.size === 0) this.child.channel?.ref();
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onText });
      this.send({ ...message, id });
    });
    return { id, result };
  }

  /** Best effort: a message to a process that has just died is answered by its exit. */
  send(message: ToWorker): void {
    if (this.alive) this.child.send(message, (err) => err && log.warn({ err, lmPid: this.child.pid }, "could not reach the language model's process"));
  }

  private settle(id: number) {
    this.pending.delete(id);
    if (this.pending.size === 0) this.child.channel?.unref();
  }

  /** Asks the process to release its session and exit; kills it if it does not in time. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.channel?.ref();
    this.send({ type: "dispose" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), DISPOSE_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

export interface ProcessLanguageModel extends LanguageModel {
  /** The model's process now (its pid), or undefined while none runs. */
  processId(): number | undefined;
}

/**
 * Starts the model folder's process (which loads and smoke-tests it, see `loadLanguageModelInProcess`)
 * and loads its tokenizer here; rejects when the model cannot load or write.
 */
export async function loadLanguageModel(dir: string): Promise<ProcessLanguageModel> {
  const absolute = path.resolve(dir);
  const [tokenizer, started] = await Promise.all([
    loadFromDir(absolute, (id) => AutoTokenizer.from_pretrained(id) as Promise<PreTrainedTokenizer>),
    ModelProcess.start(absolute),
  ]);
  let current: Promise<ModelProcess> = Promise.resolve(started.process);
  let latest = started.process;
  let disposed = false;
  /** The running process, or a new one when the last died (a failed start is retried by the next request). */
  const live = () => {
    if (disposed) return Promise.reject(new Error(`${started.version} was disposed`));
    current = current.then(
      (p) => (p.alive ? p : restart()),
      () => restart(),
    );
    return current;
  };
  const restart = async () => {
    const next = await ModelProcess.start(absolute);
    latest = next.process;
    log.warn({ version: started.version, lmPid: next.process.child.pid }, "the language model's process was restarted");
    return next.process;
  };

  return {
    id: started.id,
    version: started.version,
    countTokens: (text) => tokenizer.encode(text).length,
    async generate(turns, { maxNewTokens, stopper, enough, onText }) {
      const model = await live();
      const { id, result } = model.request<GenerationResult>(
        { type: "generate", turns, maxNewTokens, stopped: stopper.interrupted, enough: enough?.interrupted ?? false },
        onText,
      );
      const forward = (which: "stopper" | "enough", s?: GenerationStopper) => s?.onInterrupt(() => model.send({ type: "interrupt", id, which }));
      const unsubscribe = [forward("stopper", stopper), forward("enough", enough)];
      try {
        return await result;
      } finally {
        for (const off of unsubscribe) off?.();
      }
    },
    async answerLoss(turns, answer) {
      return (await live()).request<{ nll: number; tokens: number }>({ type: "answerLoss", turns, answer }).result;
    },
    async dispose() {
      disposed = true;
      await (await current.catch(() => undefined))?.stop();
    },
    processId: () => (latest.alive ? latest.child.pid : undefined),
  };
}
