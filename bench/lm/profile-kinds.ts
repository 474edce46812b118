/** Sorts the nodes of an onnxruntime profile of the language model into kinds of work. Pure, so it is unit-tested. */

/** One event of onnxruntime's profile (Chrome trace format); node events carry their op and shapes. */
export interface TraceEvent {
  cat?: string;
  name: string;
  ts: number;
  dur: number;
  args?: {
    op_name?: string;
    input_type_shape?: Record<string, number[]>[];
    output_type_shape?: Record<string, number[]>[];
  };
}

export const KINDS = {
  blockMatMul: "block-quantised MatMuls (MatMulNBits): q/k/v, o and MLP projections",
  fusedAttention: "fused attention (GroupQueryAttention: rotary, KV cache, grouped heads)",
  int8MatMul: "int8 MatMuls: q/k/v/o and MLP gate/up projections, activations quantised per token",
  downProj: "fp32 MatMuls: MLP down projections (kept float by the store build)",
  lmHead: "output projection 49152×576, 8-bit",
  attention: "attention: QK^T, softmax, ×V (fp32, unfused)",
  kvCache: "KV cache: past and new concatenated, KV heads repeated for grouped-query attention",
  norm: "RMSNorm and residual adds",
  mlpActivation: "MLP activation: SiLU(gate) × up",
  elementwise: "rotary embedding, attention mask, head reshapes and transposes",
  shapes: "shape and index arithmetic (int64 outputs)",
  embedding: "embedding lookup",
} as const;

const INT8_OPS = new Set(["MatMulIntegerToFloat", "DynamicQuantizeMatMul", "DynamicQuantizeLinear", "MatMulInteger"]);

const shapesOf = (types: Record<string, number[]>[] = []) => types.map((t) => Object.entries(t)[0] ?? ["", []]);

/** The kind of work a node event is; a node of no known kind is "other: <op>". */
export function categorise(node: TraceEvent): string {
  const op = node.args?.op_name ?? "?";
  const name = node.name;
  const outputs = shapesOf(node.args?.output_type_shape);
  const inputs = shapesOf(node.args?.input_type_shape);
  if (outputs.length > 0 && outputs.every(([type]) => type !== "float")) return KINDS.shapes;
  if (name.includes("/lm_head/")) return KINDS.lmHead;
  // The store's graph (onnxruntime-genai's builder) fuses most of a layer; optimum's export (older fine-tuned
  // versions) spells it out, sorted below.
  if (op === "MatMulNBits") return KINDS.blockMatMul;
  if (op === "GroupQueryAttention") return KINDS.fusedAttention;
  if (op === "SkipSimplifiedLayerNormalization") return KINDS.norm;
  if (name.includes("/mlp/down_proj/")) return KINDS.downProj;
  if (INT8_OPS.has(op)) return KINDS.int8MatMul;
  // The residual adds are the layer's own Adds (a fused graph does them in SkipSimplifiedLayerNormalization).
  if (op === "SimplifiedLayerNormalization" || (op === "Add" && /\/layers\.\d+\/Add(_\d+)?_kernel_time$/.test(name))) return KINDS.norm;
  if (name.includes("/embed_tokens/")) return KINDS.embedding;
  if (name.includes("/mlp/")) return KINDS.mlpActivation;
  if (name.includes("/self_attn/")) {
    if (op === "FusedMatMul" || op === "MatMul" || op === "Softmax") return KINDS.attention;
    // Concatenating along the sequence keeps the last (head) dimension; rotary's rotate-half joins two halves of it.
    const [, first] = inputs[0] ?? [];
    const [, out] = outputs[0] ?? [];
    if (op === "Concat" && first?.at(-1) === out?.at(-1)) return KINDS.kvCache;
    if (op === "Expand" || (op === "Reshape" && first?.length === 5)) return KINDS.kvCache;
  }
  if (name.includes("/self_attn/") || name.includes("/rotary_emb/")) return KINDS.elementwise;
  return `other: ${op}`;
}
