#!/usr/bin/env python
"""Talk to a model in the terminal with the paper's decoding (§4.1): a stage-05 export with its chat
template and multi-turn history, or a base model by plain continuation.

    python scripts/11_chat.py --checkpoint checkpoints/sample/selected
    python scripts/11_chat.py --model checkpoints/sample-base      # no template: plain continuation

Commands: /reset, /save FILE (the conversation as a test-prompt row), /params, /quit or Ctrl-D.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lima.cli import run_main
from lima.errors import StageError
from lima.eval.generation.generate import Decoding


def parse_args(argv=None) -> argparse.Namespace:
    d = Decoding()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--checkpoint", type=Path, help="a stage-05 export (checkpoints/<run>/selected or epoch_NN)")
    who.add_argument("--model", type=Path, help="a base model folder (Hugging Face format): plain continuation")
    p.add_argument("--temperature", type=float, default=d.temperature, help="§4.1: 0.7")
    p.add_argument("--top-p", type=float, default=d.top_p, help="§4.1: nucleus sampling, 0.9")
    p.add_argument("--repetition-penalty", type=float, default=d.repetition_penalty,
                   help="§4.1: 1.2, on generated tokens only")
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens, help="§4.1: 2,048 per response")
    p.add_argument("--seed", type=int, default=0, help="seeds each reply's random stream (with its turn number)")
    p.add_argument("--show-prompt", action="store_true",
                   help="after each reply, print the prompt the model saw (special tokens included)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    folder = args.checkpoint or args.model
    if not (folder / "config.json").is_file():
        raise StageError(folder, "not a model folder (no config.json)"
                         + ("; train and select first (`make all`), or give CKPT=" if args.checkpoint else ""))
    if not (0 < args.top_p <= 1) or args.temperature <= 0 or args.max_new_tokens < 1 or args.repetition_penalty <= 0:
        raise StageError("decoding", "needs 0 < top-p <= 1, temperature > 0, repetition penalty > 0, max-new-tokens >= 1")
    import torch

    from lima.eval.generation.chat import ChatSession, has_template, run_chat
    from lima.eval.generation.generate import load_checkpoint

    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    if sys.stdin.isatty():
        import readline  # noqa: F401  (line editing and history for input())
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, tok = load_checkpoint(folder, device)
    if args.checkpoint and not has_template(tok):
        raise StageError(folder, "no chat template or end-of-turn token: not a stage-05 export (give it as MODEL= instead)")
    decoding = Decoding(args.temperature, args.top_p, args.repetition_penalty, args.max_new_tokens)
    run_chat(ChatSession(model, tok, source=folder, decoding=decoding, seed=args.seed, device=device),
             show_prompt=args.show_prompt)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
