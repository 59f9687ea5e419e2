"""Stage 06, generation: the paper's decoding on a tiny stage-05 export, the automatic metrics, and
the script without a judge.

Run: .venv/bin/python -m pytest -q tests/test_eval_generate.py
One session-scoped checkpoint (a tiny base fine-tuned 3 epochs in-process, a few seconds) is shared.
"""
import json
import os
import shlex
import subprocess
import sys
from collections import Counter

import pytest
import torch

from conftest import ROOT, run_script, write_rows
from lima.chat import EOT
from lima.eval.generation.metrics import generation_metrics, mean_ci95, repetition_rate, t_quantile_975
from lima.eval.generation.generate import (Decoding, generate_all, load_checkpoint, make_jobs, penalize_generated, prompt_turns,
                                sample_from)



@pytest.fixture(autouse=True)
def no_judge(monkeypatch):
    """A developer's judge settings must not turn these runs into paid API calls."""
    for var in ("JUDGE_BASE_URL", "JUDGE_MODEL", "JUDGE_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def model_tok(ckpt):
    torch.manual_seed(0)
    return load_checkpoint(ckpt / "run" / "epoch_03", torch.device("cpu"))


def jobs_for(tok, ckpt, samples=1):
    rows = [json.loads(line) for line in (ckpt / "test.jsonl").read_text().splitlines()]
    return make_jobs(tok, rows, samples, 2048, Counter())


def run(model, tok, jobs, decoding=Decoding(max_new_tokens=24), batch_size=4, seed=0):
    return generate_all(model, jobs, decoding, seed=seed, eot_id=tok.convert_tokens_to_ids(EOT),
                        pad_id=tok.pad_token_id, device=torch.device("cpu"), batch_size=batch_size, show_progress=False)


# ---- decoding pieces ----------------------------------------------------------------------------

def test_repetition_penalty_touches_generated_tokens_only():
    from transformers import RepetitionPenaltyLogitsProcessor
    torch.manual_seed(0)
    scores = torch.randn(2, 12)
    ids = torch.tensor([[1, 2, 3, 3, 4], [5, 6, 7, 7, 1]])      # 3 prompt tokens, then 2 generated
    ours = penalize_generated(scores.clone(), ids[:, 3:], 1.2)              # what the decode loop passes
    stock = RepetitionPenaltyLogitsProcessor(1.2)(ids, scores.clone())
    changed_ours = {(int(r), int(c)) for r, c in zip(*torch.nonzero(ours != scores, as_tuple=True))}
    changed_stock = {(int(r), int(c)) for r, c in zip(*torch.nonzero(stock != scores, as_tuple=True))}
    assert changed_ours == {(0, 3), (0, 4), (1, 7), (1, 1)}                  # generated tokens only
    assert changed_stock - changed_ours == {(0, 1), (0, 2), (1, 5), (1, 6)}  # the stock one also hits the prompt
    for r, c in changed_ours:                                                # and equals it where both act
        assert ours[r, c] == stock[r, c]
        assert ours[r, c] == (scores[r, c] / 1.2 if scores[r, c] > 0 else scores[r, c] * 1.2)
    assert torch.equal(penalize_generated(scores, ids[:, :0], 1.2), scores)


def test_nucleus_sampling_keeps_the_top_mass_and_follows_the_uniform():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    picks = {int(sample_from(logits, torch.tensor([u]), 1.0, 0.9)) for u in torch.linspace(0, 0.999, 200)}
    assert picks == {0, 1, 2}                          # 0.5 + 0.3 < 0.9, so the third is in, the fourth out
    assert int(sample_from(logits, torch.tensor([0.0]), 1.0, 0.9)) == 0
    assert int(sample_from(logits, torch.tensor([0.999]), 1.0, 0.9)) == 2
    low_t = {int(sample_from(logits, torch.tensor([u]), 0.01, 0.9)) for u in torch.linspace(0, 0.999, 50)}
    assert low_t == {0}


def test_dev_rows_are_answered_at_their_prompt():
    assert prompt_turns(["q", "reference answer"]) == ["q"]
    assert prompt_turns(["q1", "a1", "q2"]) == ["q1", "a1", "q2"]


# ---- the decode loop on a real export ------------------------------------------------------------

def test_near_zero_temperature_equals_greedy_generate(model_tok, ckpt):
    """Left padding, positions and the KV cache are right: a batch decoded by our loop at
    temperature ~0 equals transformers' greedy generate() of each prompt alone."""
    model, tok = model_tok
    jobs = jobs_for(tok, ckpt)[:5]
    ours = run(model, tok, jobs, Decoding(temperature=1e-4, repetition_penalty=1.0, max_new_tokens=12), batch_size=5)
    eot = tok.convert_tokens_to_ids(EOT)
    for job, res in zip(jobs, ours):
        ref = model.generate(torch.tensor([job.ids]), attention_mask=torch.ones(1, len(job.ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=12, eos_token_id=eot, pad_token_id=tok.pad_token_id,
                             repetition_penalty=1.0)[0, len(job.ids):].tolist()
        expected = ref[:ref.index(eot)] if eot in ref else ref
        assert res.new_ids == expected, (tok.decode(res.new_ids), tok.decode(ref))
        assert res.ended_eot == (eot in ref)


def test_generation_stops_at_eot(model_tok, ckpt):
    model, tok = model_tok
    eot = tok.convert_tokens_to_ids(EOT)
    results = run(model, tok, jobs_for(tok, ckpt), Decoding(max_new_tokens=30))
    ended = [r for r in results if r.ended_eot]
    assert len(ended) >= len(results) // 2, [tok.decode(r.new_ids) for r in results]
    assert all(len(r.new_ids) < 30 and eot not in r.new_ids for r in ended)
    assert all(len(r.new_ids) == 30 for r in results if not r.ended_eot)     # the rest ran to the limit
    short = run(model, tok, jobs_for(tok, ckpt), Decoding(max_new_tokens=1))
    assert all(len(r.new_ids) <= 1 for r in short)


def test_same_responses_for_any_batch_size_and_different_for_another_seed(model_tok, ckpt):
    model, tok = model_tok
    jobs = jobs_for(tok, ckpt, samples=2)
    one = run(model, tok, jobs, batch_size=1)
    three = run(model, tok, jobs, batch_size=3)
    all_at_once = run(model, tok, jobs, batch_size=len(jobs))
    alone = run(model, tok, [jobs[5]], batch_size=1)                     # a prompt without its neighbours
    assert [r.new_ids for r in one] == [r.new_ids for r in three] == [r.new_ids for r in all_at_once]
    assert alone[0].new_ids == one[5].new_ids
    assert [r.new_ids for r in one[0::2]] != [r.new_ids for r in one[1::2]]   # sample 0 and 1 differ
    other = run(model, tok, jobs, batch_size=3, seed=1)
    assert [r.new_ids for r in other] != [r.new_ids for r in one]


# ---- metrics --------------------------------------------------------------------------------------

def test_automatic_metrics_on_hand_made_rows():
    rows = [{"response": "a b c a b c a b c", "n_new_tokens": 9, "ended_eot": True},
            {"response": "x y", "n_new_tokens": 30, "ended_eot": False},
            {"response": "", "n_new_tokens": 30, "ended_eot": False}]
    m = generation_metrics(rows)
    assert m["eot_rate"] == pytest.approx(1 / 3, abs=1e-4) and m["mean_new_tokens"] == 23.0
    assert m["empty_responses"] == 1 and m["mean_words"] == pytest.approx(11 / 3, abs=0.01)
    assert m["distinct_2"] == pytest.approx(4 / 9, abs=1e-4)   # ab bc ca (x8 bigrams) + xy: 4 distinct of 9
    assert repetition_rate("a b c a b c a b c") == pytest.approx(1 - 3 / 6)
    assert repetition_rate("one two three four five") == 0.0
    assert m["repetition_rate"] == pytest.approx(0.5 / 3, abs=1e-4)


def test_mean_and_95_confidence_interval():
    r = mean_ci95([1, 2, 3, 4, 5])
    assert r["mean"] == 3 and r["ci95"] == pytest.approx([3 - 2.776 * 1.5811 / 5 ** 0.5, 3 + 2.776 * 1.5811 / 5 ** 0.5], abs=1e-3)
    assert t_quantile_975(30) == pytest.approx(2.042, abs=1e-3) and t_quantile_975(120) == pytest.approx(1.980, abs=1e-3)
    assert t_quantile_975(1000) == pytest.approx(1.962, abs=1e-3)
    assert mean_ci95([])["mean"] is None


# ---- the script -------------------------------------------------------------------------------------

def eval_args(ckpt, out, *extra):
    return ["--checkpoint", ckpt / "run" / "epoch_03", "--prompts", ckpt / "test.jsonl", "--out", out,
            "--max-new-tokens", "16", "--batch-size", "3", *extra]


def test_script_without_judge_writes_generations_and_metrics_and_says_how_to_configure(ckpt, tmp_path, capsys):
    out = tmp_path / "res"
    run_script("06_eval.py", *eval_args(ckpt, out, "--samples", "2"))
    printed = capsys.readouterr().out
    assert printed.count("JUDGE_BASE_URL") == 1 and "nothing was judged" in printed
    gens = [json.loads(line) for line in (out / "generations" / "epoch_03.test.jsonl").read_text().splitlines()]
    assert len(gens) == 16 and [g["sample_idx"] for g in gens[:4]] == [0, 1, 0, 1]
    assert [g["id"] for g in gens[::2]] == [f"p/{i:02d}" for i in range(7)] + ["p/dev"]     # prompt order
    assert gens[-1]["prompt"] == "Is 9 even?" and "<|eot|>" not in "".join(g["response"] for g in gens)
    assert set(gens[0]) == {"id", "prompt", "response", "sample_idx", "n_new_tokens", "ended_eot", "decoding"}
    assert gens[0]["decoding"] == {"temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.2, "max_new_tokens": 16, "seed": 0,
                                  "recipe": "lima"}
    metrics = json.loads((out / "metrics" / "epoch_03.test.json").read_text())
    assert metrics["n_responses"] == 16 and 0 <= metrics["eot_rate"] <= 1
    report = (out / "report" / "eval.md").read_text()
    assert "nothing was judged" in report and "Pairwise" not in report
    assert not (out / "eval" / "epoch_03.test.absolute.json").exists() and not (out / "winrates.png").exists()
    stats = json.loads((out / "generations" / "epoch_03.test.stats.json").read_text())
    assert stats["read"] == {"prompts": 8} and stats["kept"] == {"responses": 16}


@pytest.mark.slow
def test_one_and_two_ranks_give_the_same_responses(ckpt, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    run_script("06_eval.py", *eval_args(ckpt, one))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "scripts" / "06_eval.py"), *map(str, eval_args(ckpt, two, "--batch-size", "2"))]
    env = {k: v for k, v in os.environ.items() if k not in ("JUDGE_BASE_URL", "JUDGE_MODEL")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = (one / "generations" / "epoch_03.test.jsonl").read_text()
    b = (two / "generations" / "epoch_03.test.jsonl").read_text()
    assert a == b and len(a.splitlines()) == 8


def test_rerun_reuses_generations_and_bad_flags_are_one_line_errors(ckpt, tmp_path, capsys, caplog):
    import logging
    caplog.set_level(logging.INFO, logger="lima")
    out = tmp_path / "res"
    run_script("06_eval.py", *eval_args(ckpt, out))
    before = (out / "generations" / "epoch_03.test.jsonl").stat().st_mtime_ns
    run_script("06_eval.py", *eval_args(ckpt, out))
    assert "reusing" in caplog.text
    assert (out / "generations" / "epoch_03.test.jsonl").stat().st_mtime_ns == before
    capsys.readouterr()
    run_script("06_eval.py", "--checkpoint", ckpt / "nope", "--prompts", ckpt / "test.jsonl", "--out", out,
               "--judge", "pairwise,vibes", expect_exit=2)
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert "not an exported model folder" in err and "vibes" in err


def makefile_dev_generation_args():
    """The arguments the Makefile gives 06_eval.py for a candidate epoch's dev generations."""
    proc = subprocess.run(["make", "-nB", "--no-print-directory", "results/sample/report/dev/epoch_05.md"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stdout.replace("\\\n", " ").splitlines()
                if "scripts/06_eval.py" in ln and "report/dev/epoch_05.md" in ln)
    argv = shlex.split(line)
    return argv[argv.index("scripts/06_eval.py") + 1:]


def test_dev_generations_as_make_runs_them_send_nothing_to_a_configured_judge(ckpt, tmp_path, monkeypatch, capsys):
    from judge_standin import StandIn

    args = makefile_dev_generation_args()
    paths = {"--checkpoint": ckpt / "run" / "epoch_03", "--prompts": ckpt / "test.jsonl", "--out": tmp_path / "res",
             "--report": tmp_path / "res" / "report" / "dev" / "epoch_03.md"}
    args = [paths.get(prev, a) for prev, a in zip([None] + args, args)]     # the same flags, our files
    with StandIn() as judge:                                        # the environment names a judge
        monkeypatch.setenv("JUDGE_BASE_URL", judge.url)
        monkeypatch.setenv("JUDGE_MODEL", "stand-in")
        run_script("06_eval.py", *args)
        assert [r["kind"] for r in judge.requests] == []
    summary = json.loads((tmp_path / "res" / "eval" / "epoch_03.test.summary.json").read_text())
    assert summary["judge"] is None and summary["judged"] == {}
    assert "nothing was judged" in capsys.readouterr().out
