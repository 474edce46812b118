/**
 * The language model's own process (started by lib/models/lm-process.ts, one per model version served):
 * loads the model folder given as its argument, then answers generate and answerLoss requests over the
 * IPC channel, several at once (the generations running at a time are decoded in one batch). Text
 * streams back piece by piece; an interrupt message stops a generation at its next token, as the
 * stoppers do in one process. It exits when its parent is gone.
 */
import { GenerationStopper, loadLanguageModelInProcess } from "./lm";
import type { FromWorker, ToWorker, WorkerRequest } from "./lm-process";

const send = (message: FromWorker) => process.send?.(message);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

// The parent died or let go: nothing can reach this process any more.
process.on("disconnect", () => process.exit(0));

const dir = process.argv[2];
if (!dir || !process.send) throw new Error("usage: started with an IPC channel (lib/models/lm-process.ts), the model folder as the argument");

const lm = await loadLanguageModelInProcess(dir).catch((err: unknown) => {
  send({ type: "load_failed", message: messageOf(err) });
  process.exit(1);
});

/** The stoppers of the generations running here, by request id. */
const running = new Map<number, { stopper: GenerationStopper; enough: GenerationStopper }>();

async function handle(request: WorkerRequest & { id: number }): Promise<FromWorker> {
  if (request.type === "answerLoss") return { type: "result", id: request.id, value: await lm.answerLoss(request.turns, request.answer) };
  const stoppers = { stopper: new GenerationStopper(), enough: new GenerationStopper() };
  if (request.stopped) stoppers.stopper.interrupt();
  if (request.enough) stoppers.enough.interrupt();
  running.set(request.id, stoppers);
  try {
    const result = await lm.generate(request.turns, {
      maxNewTokens: request.maxNewTokens,
      ...stoppers,
      onText: (piece) => send({ type: "text", id: request.id, piece }),
    });
    return { type: "result", id: request.id, value: result };
  } finally {
    running.delete(request.id);
  }
}

process.on("message", (request: ToWorker) => {
  if (request.type === "interrupt") return running.get(request.id)?.[request.which].interrupt();
  if (request.type === "dispose") return void lm.dispose().finally(() => process.exit(0));
  handle(request).then(send, (err: unknown) => send({ type: "failed", id: request.id, message: messageOf(err) }));
});

send({ type: "ready", id: lm.id, version: lm.version });
