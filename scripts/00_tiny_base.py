"""Stage 00 (sample profile only): a tiny pretrained base model, the paper's "Pretrained Model" box in
miniature.

Trains a byte-level BPE tokenizer and a small LLaMA-architecture model with a plain language-modelling
loss on the raw text of the sample dumps (every post, page and story), and saves both in Hugging Face
format, so stage 05 loads it exactly as it would load LLaMA-65B. Deterministic with the seed.

    python scripts/00_tiny_base.py --stackexchange data/sample/stackexchange --wikihow data/sample/wikihow \
        --reddit data/sample/reddit --out checkpoints/base
"""
from __future__ import annotations

import argparse
import logging
import random
import sys
from pathlib import Path

import torch

from lima.errors import StageError
from lima.progress import progress
from lima.cli import run_main, setup_logging
from lima.base.corpus import reddit_texts, stackexchange_texts, wikihow_texts
from lima.funnel import args_record
from lima.io import atomic_write, write_json
from lima.base.tiny import pack_corpus, pretrain, save_base, tiny_config, train_tokenizer

log = logging.getLogger("lima.base")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stackexchange", type=Path, required=True, help="Stack Exchange dump folder (stage 01's input)")
    p.add_argument("--wikihow", type=Path, required=True, help="wikiHow cache folder (stage 02's input)")
    p.add_argument("--reddit", type=Path, nargs="+", required=True, help="Pushshift .zst files or folders (stage 03's input)")
    p.add_argument("--out", type=Path, required=True, help="output folder; a BASE stamp inside is written last")
    p.add_argument("--vocab-size", type=int, default=2048)
    p.add_argument("--hidden", type=int, default=128, help="hidden size (4 layers of 128 and a 2,048-token vocabulary: about 1.3M parameters)")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--steps", type=int, default=600, help="optimizer steps of pretraining")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    torch.set_num_threads(1)
    texts = {"stackexchange": list(stackexchange_texts(args.stackexchange)),
             "wikihow": list(wikihow_texts(args.wikihow)),
             "reddit": list(reddit_texts(args.reddit))}
    corpus = [t for name in sorted(texts) for t in texts[name]]
    if not corpus:
        raise StageError(args.out, "no text found in the sample dumps")
    random.Random(args.seed).shuffle(corpus)
    log.info("corpus: %s documents, %d characters",
             {k: len(v) for k, v in texts.items()}, sum(map(len, corpus)))

    torch.manual_seed(args.seed)
    tokenizer = train_tokenizer(corpus, args.vocab_size)
    blocks = pack_corpus(tokenizer, corpus, args.seq_len)
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM(tiny_config(len(tokenizer), args.hidden, args.layers, args.heads))
    n_params = sum(p.numel() for p in model.parameters())
    log.info("%d parameters; %d blocks of %d tokens (%d tokens); %d steps of %d blocks",
             n_params, blocks.shape[0], args.seq_len, blocks.numel(), args.steps, args.batch_size)
    bar = progress(total=args.steps, desc="pretrain", unit="step")
    losses = pretrain(model, blocks, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      log=lambda step, loss, secs: (bar.update(step + 1 - bar.n), bar.set_postfix(loss=f"{loss:.3f}")))
    bar.close()

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "BASE").unlink(missing_ok=True)
    save_base(model, tokenizer, args.out)
    write_json(args.out / "base_summary.json", {
        "parameters": n_params, "documents": {k: len(v) for k, v in texts.items()},
        "characters": sum(map(len, corpus)), "tokens": int(blocks.numel()), "first_loss": losses[0],
        "last_loss": sum(losses[-20:]) / len(losses[-20:]), "args": args_record(args)})
    with atomic_write(args.out / "BASE") as f:
        f.write(f"tiny base: {n_params} parameters, loss {losses[0]:.3f} -> {losses[-1]:.3f}\n")
    print(f"base: {n_params / 1e6:.1f}M-parameter LLaMA, LM loss {losses[0]:.2f} -> "
          f"{sum(losses[-20:]) / len(losses[-20:]):.2f} over {args.steps} steps -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
