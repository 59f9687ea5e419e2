"""§4.2's Alpaca-65B baseline by Stanford's own recipe (`--recipe alpaca`, `make train RECIPE=alpaca`):
its prompt format, the cosine schedule with 3% warmup, 3 epochs, no weight decay; LIMA's recipe
stays the default; stage 06 prompts such an export in its own format.

Run: .venv/bin/python -m pytest -q tests/test_train_recipe.py
"""
import json
import math
import subprocess
import sys
from collections import Counter

import pytest
import torch

from conftest import ROOT, run_script
from lima.chat import IGNORE, alpaca_prompt, alpaca_prompt_ids, render_alpaca
from lima.eval.generation.chat import ChatSession
from lima.eval.generation.generate import load_checkpoint, make_jobs
from lima.train.recipes import export_recipe
from lima.train.schedule import cosine_lr_at

FIXTURE = ROOT / "tests" / "fixtures" / "alpaca" / "alpaca_data.json"
STANFORD_NO_INPUT = ("Below is an instruction that describes a task. Write a response that appropriately "
                     "completes the request.\n\n### Instruction:\n{}\n\n### Response:")


def test_cosine_schedule_warms_up_three_percent_then_falls_to_zero():
    total, lr = 200, 2e-5
    rates = [cosine_lr_at(s, total, lr, 0.03) for s in range(total)]
    assert rates[:7] == [lr * s / 6 for s in range(6)] + [lr]          # ceil(0.03 × 200) = 6 warm-up steps
    assert all(a > b for a, b in zip(rates[6:], rates[7:]))
    assert rates[6 + 97] == pytest.approx(lr * 0.5 * (1 + math.cos(math.pi * 97 / 194)))
    assert rates[-1] < lr * 1e-3


def test_stanford_sections_with_and_without_input_and_only_the_response_supervised(ckpt):
    _, tok = load_checkpoint(ckpt / "run" / "epoch_03", torch.device("cpu"))
    assert alpaca_prompt("Say hi.") == STANFORD_NO_INPUT.format("Say hi.")
    assert alpaca_prompt("Translate.", "Bonjour").endswith("### Instruction:\nTranslate.\n\n### Input:\nBonjour\n\n### Response:")
    row = {"conversations": ["Translate.\n\nBonjour", "Hello."], "meta": {"instruction": "Translate.", "input": "Bonjour"}}
    r = render_alpaca(tok, row, 10_000)
    supervised = [i for i, lab in zip(r.input_ids, r.labels) if lab != IGNORE]
    assert tok.decode(r.input_ids, skip_special_tokens=False).endswith("### Response:Hello.<|eot|>")
    assert tok.decode(supervised, skip_special_tokens=False).strip() == "Hello.<|eot|>"
    assert "### Input:\nBonjour" in tok.decode(r.input_ids)


def test_lima_stays_the_default_and_a_flag_beats_the_recipe():
    import importlib.util
    spec = importlib.util.spec_from_file_location("train05", ROOT / "scripts" / "05_train.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["train05"] = mod                # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    base = ["--model", "m", "--train", "t", "--dev", "d", "--out", "o"]
    lima = mod.parse_args(base)
    assert (lima.recipe, lima.epochs, lima.weight_decay, lima.lr, lima.resid_dropout) == ("lima", 15, 0.1, 1e-5, 0.3)
    alpaca = mod.parse_args(base + ["--recipe", "alpaca"])
    assert (alpaca.epochs, alpaca.weight_decay, alpaca.warmup_ratio, alpaca.batch_size, alpaca.lr, alpaca.max_len,
            alpaca.keep_epochs) == (3, 0.0, 0.03, 128, 2e-5, 512, "last")
    assert mod.parse_args(base + ["--recipe", "alpaca", "--lr", "1e-3"]).lr == 1e-3


def test_make_train_recipe_alpaca_runs_stanfords_recipe_in_its_own_run():
    def dry(*extra):
        out = subprocess.run(["make", "-n", "train", *extra], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return next(line for line in out.splitlines() if "05_train.py --check" in line)
    line = dry("RECIPE=alpaca", f"TRAIN_FILE={FIXTURE}")
    assert "--recipe alpaca" in line and "--epochs 3" in line and "--out checkpoints/sample-alpaca" in line
    lima = dry()
    assert "--recipe" not in lima and "--out checkpoints/sample " in lima


@pytest.mark.slow
def test_alpaca_recipe_trains_with_cosine_and_generation_uses_its_prompt(toy, ckpt, tmp_path):
    run_script("05_train.py", "--recipe", "alpaca", "--model", toy / "base", "--train", FIXTURE, "--dev", toy / "dev.jsonl",
               "--out", tmp_path / "alpaca", "--results", tmp_path / "results", "--batch-size", "1", "--lr", "1e-3",
               "--max-len", "1024")
    steps = [json.loads(line) for line in (tmp_path / "results" / "train_metrics.jsonl").read_text().splitlines()]
    rates = [s["lr"] for s in steps if s["kind"] == "step"]
    assert len(rates) == 24 and max(s["epoch"] for s in steps if s["kind"] == "step") == 3     # 8 rows × 3 epochs
    assert rates[0] == 0.0 and rates[1] == 1e-3                      # ceil(0.03 × 24) = 1 warm-up step
    assert all(a > b for a, b in zip(rates[1:], rates[2:])) and rates[-1] < 1e-5
    summary = json.loads((tmp_path / "alpaca" / "train_summary.json").read_text())
    assert summary["args"]["recipe"] == "alpaca" and summary["args"]["weight_decay"] == 0.0
    assert summary["exported_epochs"] == [3]

    export = tmp_path / "alpaca" / "epoch_03"
    assert export_recipe(export) == "alpaca" and export_recipe(ckpt / "run" / "epoch_03") == "lima"
    model, tok = load_checkpoint(export, torch.device("cpu"))
    shown = tok.apply_chat_template([{"role": "user", "content": "Is 4 even?"}], tokenize=False, add_generation_prompt=True)
    assert shown == tok.bos_token + STANFORD_NO_INPUT.format("Is 4 even?")
    counts = Counter()
    jobs = make_jobs(tok, [{"id": "p", "conversations": ["Is 4 even?"]}], 1, 2048, counts, export_recipe(export))
    assert jobs[0].ids == alpaca_prompt_ids(tok, "Is 4 even?")
    assert tok.decode(jobs[0].ids) == shown
    chat = ChatSession(model, tok, source=export)                    # `make chat` on it: the same prompt
    assert chat.build_prompt("Is 4 even?") == jobs[0].ids and "alpaca recipe" in chat.params()
