/**
 * transformers.js finds local models through one global, `env.localModelPath`. Loads of models in
 * different folders therefore run one at a time here, or one load could read the other's folder.
 * Remote loading is off everywhere: models come from the project's model store only.
 */
import path from "node:path";
import { env } from "@huggingface/transformers";

env.allowRemoteModels = false;
env.allowLocalModels = true;

let queue: Promise<unknown> = Promise.resolve();

/** Runs `load(id)` with transformers.js pointed at `dir` (absolute), after any load in progress. */
export function loadFromDir<T>(dir: string, load: (id: string) => Promise<T>): Promise<T> {
  const run = queue.then(() => {
    env.localModelPath = `${path.dirname(dir)}/`;
    return load(path.basename(dir));
  });
  queue = run.catch(() => {});
  return run;
}
