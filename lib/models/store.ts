/** The model store: the folder (LOOPDESK_MODELS_DIR) holding the language model and every classifier version. */
import path from "node:path";
import { config } from "../config";

/** A path in the model store, e.g. a model version's folder from its stored relative path. */
export function modelStorePath(relative: string): string {
  return path.resolve(config().LOOPDESK_MODELS_DIR, relative);
}
