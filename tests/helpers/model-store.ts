/** A model store of its own for a test run, so versions trained by tests never land in ./models. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export function createModelStore(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "loopdesk-models-"));
  mkdirSync(path.join(dir, "classifier"));
  symlinkSync(path.resolve("models/lm"), path.join(dir, "lm"));
  symlinkSync(path.resolve("models/encoder"), path.join(dir, "encoder"));
  symlinkSync(path.resolve("models/classifier/seed"), path.join(dir, "classifier/seed"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
