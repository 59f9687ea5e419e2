"""Named fine-tuning recipes: LIMA's (§3, the default of every LIMA run) and Stanford Alpaca's, which
made the Alpaca-65B baseline of §4.2. A recipe is a prompt format, a learning-rate schedule and its
own defaults for the knobs; a flag given on the command line still wins over a recipe's default.
The recipe's name goes into every export (`lima_export.json`, `args.recipe`), so generation prompts
the model in the format it was trained on."""
from __future__ import annotations

import json
from pathlib import Path

from lima.chat import ALPACA_CHAT_TEMPLATE, CHAT_TEMPLATE, alpaca_prompt_ids, alpaca_sections, prompt_ids, render_alpaca, render_conversation
from lima.train.schedule import cosine_lr_at, lr_at

RECIPES = ("lima", "alpaca")
# Stanford Alpaca's published recipe (its README and training code): 3 epochs, batch 128, learning
# rate 2e-5 with a cosine schedule and 3% warmup, no weight decay, texts cut at 512 tokens. No
# residual dropout; the last epoch is the model.
ALPACA_DEFAULTS = {"epochs": 3, "batch_size": 128, "lr": 2e-5, "final_lr": 0.0, "weight_decay": 0.0,
                   "max_len": 512, "resid_dropout": 0.0, "keep_epochs": "last", "warmup_ratio": 0.03}


def recipe_defaults(recipe: str) -> dict:
    return dict(ALPACA_DEFAULTS) if recipe == "alpaca" else {}


def learning_rate(args, step: int, total_steps: int) -> float:
    if args.recipe == "alpaca":
        return cosine_lr_at(step, total_steps, args.lr, args.warmup_ratio)
    return lr_at(step, total_steps, args.lr, args.final_lr)


def chat_template(recipe: str) -> str:
    return ALPACA_CHAT_TEMPLATE if recipe == "alpaca" else CHAT_TEMPLATE


def render_row(tokenizer, row: dict, max_len: int, recipe: str):
    if recipe == "alpaca":
        return render_alpaca(tokenizer, row, max_len)
    return render_conversation(tokenizer, row["conversations"], max_len)


def export_recipe(export: Path) -> str:
    """The recipe an export was trained with ("lima" for an export that predates recipes)."""
    try:
        info = json.loads((Path(export) / "lima_export.json").read_text())
    except (OSError, ValueError):
        return "lima"
    return (info.get("args") or {}).get("recipe") or "lima"


def generation_prompt(tokenizer, recipe: str, turns: list[str]) -> list[int]:
    """The ids a model of `recipe` sees before it answers the last of `turns` (user, assistant, ...,
    user). Alpaca's format is single-turn: the last user turn is the instruction."""
    if recipe == "alpaca":
        return alpaca_prompt_ids(tokenizer, *alpaca_sections({"conversations": turns[-1:]}))
    return prompt_ids(tokenizer, turns)
