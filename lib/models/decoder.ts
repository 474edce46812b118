/**
 * Greedy decoding of every reply a model process writes, in one batch: the replies running at a time
 * share each decode step (one onnxruntime run for all of them), so the weights are read once per step
 * instead of once per reply. The prompts of replies that arrive meanwhile are run together (prefill)
 * and the replies join the batch before the next step; a reply that ends (end of turn, its token limit, Stop, the caller's
 * `enough`) leaves it without disturbing the others.
 *
 * The batch's KV cache is one tensor per layer, [batch, kv heads, width, head dim], padded to the
 * longest reply's positions and the padding masked out (attention_mask 0). Two layouts, by the graph:
 * one with position_ids (optimum's export: the mask builds each row's attention window) takes each
 * reply's positions right-aligned and its own position_ids; one without (onnxruntime-genai's builder:
 * GroupQueryAttention reads each row's length, hence its next position and where its new key goes,
 * from the mask's row sum) takes them left-aligned. It is rebuilt only when the batch changes.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";

/** A reply never repeats a sequence of this many tokens. */
export const NO_REPEAT_NGRAM_TOKENS = 4;

/**
 * The tokens that would repeat an n-gram the reply already contains. Only the reply's own tokens
 * count: banning n-grams of the prompt would forbid quoting the facts the reply must be grounded in.
 */
export function repeatingTokens(reply: number[], n: number): Set<number> {
  const banned = new Set<number>();
  if (reply.length < n - 1) return banned;
  const prefix = reply.slice(reply.length - (n - 1));
  for (let i = 0; i + n <= reply.length; i++) {
    if (prefix.every((token, k) => reply[i + k] === token)) banned.add(reply[i + n - 1]!);
  }
  return banned;
}

/** The index of the largest logit outside `banned`. */
function argmax(logits: Float32Array, banned: Set<number>): number {
  let best = -1;
  for (let v = 0; v < logits.length; v++) {
    if (!banned.has(v) && (best < 0 || logits[v]! > logits[best]!)) best = v;
  }
  return best;
}

export interface DecodeRequest {
  promptIds: number[];
  maxNewTokens: number;
  /** Asked before the reply starts and after each of its tokens: true ends it (Stop, or the caller has enough). */
  shouldStop: () => boolean;
  /** Each token as it is chosen, the end-of-turn token included. */
  onToken: (id: number) => void;
}

interface Row {
  request: DecodeRequest;
  resolve: (ids: number[]) => void;
  reject: (err: Error) => void;
  /** The tokens chosen so far; the last one is fed at the next step. */
  ids: number[];
  /** How many positions of this reply the cache holds. */
  cached: number;
  done: boolean;
}

type Cache = Record<string, ort.Tensor>;

/** A reply joining the batch, and where its prompt's positions are: row `index` of `cache`, `width` wide. */
interface Joining {
  row: Row;
  cache: Cache;
  index: number;
  width: number;
}

export class BatchedDecoder {
  private waiting: Row[] = [];
  private rows: Row[] = [];
  /** The batch's cache, `width` positions wide; the rows' in the same order as `rows`. */
  private cache: Cache = {};
  private width = 0;
  private running = false;

  private constructor(
    readonly session: ort.InferenceSession,
    private readonly layers: number,
    private readonly kvHeads: number,
    private readonly headDim: number,
    private readonly endOfTurn: Set<number>,
    /** Padding on the left (the graph takes position_ids) or on the right (it does not). */
    private readonly padLeft: boolean,
  ) {}

  /** Opens `file` (an ONNX decoder with a KV cache, as training/build_lm.py builds it) for the model folder `dir`. */
  static async open(dir: string, file: string): Promise<BatchedDecoder> {
    const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
    const generation = JSON.parse(await readFile(path.join(dir, "generation_config.json"), "utf8"));
    const session = await ort.InferenceSession.create(path.join(dir, file));
    const layers: number = config.num_hidden_layers;
    const expected = ["input_ids", "attention_mask", "past_key_values.0.key", `past_key_values.${layers - 1}.value`];
    const missing = expected.filter((name) => !session.inputNames.includes(name));
    if (missing.length) {
      await session.release();
      throw new Error(`${file} lacks the inputs ${missing.join(", ")} (it has ${session.inputNames.join(", ")})`);
    }
    const endOfTurn = new Set<number>([config.eos_token_id ?? [], generation.eos_token_id ?? []].flat());
    const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
    return new BatchedDecoder(session, layers, config.num_key_value_heads, headDim, endOfTurn, session.inputNames.includes("position_ids"));
  }

  /** Greedy tokens for `request`, decoded in the batch with every other running reply; resolves when it ends. */
  decode(request: DecodeRequest): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject, ids: [], cached: 0, done: false });
      if (!this.running) void this.run();
    });
  }

  /** Logits for every position of `ids` run as one sequence from an empty cache: [length, vocab]. */
  async logits(ids: number[]): Promise<{ data: Float32Array; vocab: number }> {
    const out = await this.session.run(this.prefillFeeds([ids], ids.length));
    return { data: out.logits!.data as Float32Array, vocab: out.logits!.dims[2]! };
  }

  private async run() {
    this.running = true;
    let joining: Row[] = [];
    try {
      while (this.waiting.length > 0 || this.rows.length > 0) {
        joining = this.waiting.splice(0);
        const starting = joining.filter((row) => {
          if (!row.request.shouldStop()) return true;
          row.done = true;
          row.resolve([]);
          return false;
        });
        const prefilled = await this.prefill(starting);
        this.regroup(prefilled);
        if (this.rows.length > 0) await this.step();
      }
    } catch (err) {
      // A failed step fails every reply in the batch; the next reply starts a new one.
      for (const row of [...this.rows, ...joining, ...this.waiting]) row.reject(asError(err));
      this.rows = [];
      this.waiting = [];
      this.cache = {};
      this.width = 0;
    } finally {
      this.running = false;
    }
  }

  /**
   * Runs the joining replies' prompts together, padded as the batch is; each reply's first token is
   * chosen from its last position's logits. If that run fails, each prompt runs alone, so a prompt
   * that fails fails its own reply only.
   */
  private async prefill(rows: Row[]): Promise<Joining[]> {
    if (rows.length === 0) return [];
    const prompts = rows.map((row) => row.request.promptIds);
    const longest = Math.max(...prompts.map((ids) => ids.length));
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(this.prefillFeeds(prompts, longest));
    } catch (err) {
      if (rows.length === 1) {
        rows[0]!.reject(asError(err));
        return [];
      }
      const alone: Joining[] = [];
      for (const row of rows) alone.push(...(await this.prefill([row])));
      return alone;
    }
    const vocab = out.logits!.dims[2]!;
    const logits = out.logits!.data as Float32Array;
    const cache = this.presents(out);
    return rows.map((row, r) => {
      row.cached = prompts[r]!.length;
      const last = r * longest + (this.padLeft ? longest - 1 : row.cached - 1);
      this.choose(row, logits.subarray(last * vocab, (last + 1) * vocab));
      return { row, cache, index: r, width: longest };
    });
  }

  private prefillFeeds(prompts: number[][], longest: number): Record<string, ort.Tensor> {
    // Each prompt's tokens at its side of the padding; a padding position holds token 0, masked out.
    const padded = (ids: number[], pad: number) => {
      const padding = new Array<number>(longest - ids.length).fill(pad);
      return this.padLeft ? [...padding, ...ids] : [...ids, ...padding];
    };
    const dims = [prompts.length, longest];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(prompts.flatMap((ids) => padded(ids, 0)), dims),
      attention_mask: int64(prompts.flatMap((ids) => padded(ids.map(() => 1), 0)), dims),
    };
    if (this.padLeft) feeds.position_ids = int64(prompts.flatMap((ids) => padded(ids.map((_, i) => i), 0)), dims);
    const empty = new ort.Tensor("float32", new Float32Array(0), [prompts.length, this.kvHeads, 0, this.headDim]);
    for (const name of this.cacheNames()) feeds[`past_key_values.${name}`] = empty;
    return feeds;
  }

  /** One decode step for every row: each feeds its last token at its own position. */
  private async step() {
    const batch = this.rows.length;
    // Each row attends to its cached positions and the new one.
    const attends = (row: Row, column: number) => (this.padLeft ? column >= this.width - row.cached : column <= row.cached);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(this.rows.map((row) => row.ids.at(-1)!), [batch, 1]),
      attention_mask: int64(
        this.rows.flatMap((row) => Array.from({ length: this.width + 1 }, (_, column) => (attends(row, column) ? 1 : 0))),
        [batch, this.width + 1],
      ),
    };
    if (this.padLeft) feeds.position_ids = int64(this.rows.map((row) => row.cached), [batch, 1]);
    for (const name of this.cacheNames()) feeds[`past_key_values.${name}`] = this.cache[name]!;
    const out = await this.session.run(feeds);
    this.cache = this.presents(out);
    this.width++;
    const vocab = out.logits!.dims[2]!;
    const logits = out.logits!.data as Float32Array;
    this.rows.forEach((row, r) => {
      row.cached++;
      this.choose(row, logits.subarray(r * vocab, (r + 1) * vocab));
    });
    this.regroup([]);
  }

  /** Picks the row's next token, hands it over, and marks the row done when the reply has ended. */
  private choose(row: Row, logits: Float32Array) {
    const token = argmax(logits, repeatingTokens(row.ids, NO_REPEAT_NGRAM_TOKENS));
    row.ids.push(token);
    row.request.onToken(token);
    if (this.endOfTurn.has(token) || row.ids.length >= row.request.maxNewTokens || row.request.shouldStop()) {
      row.done = true;
      row.resolve(row.ids);
    }
  }

  /**
   * Drops the rows that are done and adds the joining ones (with their prefill caches), rebuilding the
   * batch's cache as narrow as its longest row allows. Nothing is copied while the batch is unchanged.
   */
  private regroup(joining: Joining[]) {
    const stay = this.rows.filter((row) => !row.done);
    const join = joining.filter(({ row }) => !row.done);
    if (stay.length === this.rows.length && join.length === 0) return;
    const sources = [
      ...this.rows.flatMap((row, index) => (row.done ? [] : [{ row, cache: this.cache, index, width: this.width }])),
      ...join,
    ];
    const width = Math.max(0, ...sources.map(({ row }) => row.cached));
    const block = this.headDim;
    const next: Cache = {};
    for (const name of this.cacheNames()) {
      const data = new Float32Array(sources.length * this.kvHeads * width * block);
      sources.forEach((source, b) => {
        const from = source.cache[name]!.data as Float32Array;
        const [fromColumn, toColumn] = this.padLeft ? [source.width - source.row.cached, width - source.row.cached] : [0, 0];
        for (let h = 0; h < this.kvHeads; h++) {
          const start = ((source.index * this.kvHeads + h) * source.width + fromColumn) * block;
          data.set(from.subarray(start, start + source.row.cached * block), ((b * this.kvHeads + h) * width + toColumn) * block);
        }
      });
      next[name] = new ort.Tensor("float32", data, [sources.length, this.kvHeads, width, block]);
    }
    this.rows = sources.map(({ row }) => row);
    this.cache = next;
    this.width = width;
  }

  private presents(out: ort.InferenceSession.OnnxValueMapType): Cache {
    return Object.fromEntries(this.cacheNames().map((name) => [name, out[`present.${name}`] as ort.Tensor]));
  }

  private cacheNames(): string[] {
    return Array.from({ length: this.layers }, (_, l) => [`${l}.key`, `${l}.value`]).flat();
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));
const int64 = (values: number[], dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);
