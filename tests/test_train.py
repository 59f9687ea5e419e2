"""Stage 05: the recipe's pieces one by one, then real torchrun + FSDP2 runs on CPU with gloo.

Run: .venv/bin/python -m pytest -q tests/test_train.py
The torchrun runs share one session-scoped fixture each; models have < 100k parameters.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import ROOT, run_script, write_rows
from lima.train.batching import collate, n_targets, plan_epoch
from lima.chat import EOT, IGNORE, render_conversation
from lima.train.dropout import add_residual_dropout
from lima.train.model import load_tokenizer
from lima.train.schedule import lr_at, resid_dropout_rates
from lima.base.tiny import tiny_config

COMMON = ["--epochs", "3", "--batch-size", "8", "--lr", "1e-2", "--final-lr", "1e-3", "--max-len", "64",
          "--keep-epochs", "all"]


@pytest.fixture(scope="session")
def tiny(toy):
    return toy


def torchrun(tiny, out, *extra, nproc=2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(ROOT / "scripts" / "05_train.py"), "--model", tiny / "base", "--train", tiny / "train.jsonl",
           "--dev", tiny / "dev.jsonl", "--out", out, "--results", out.with_name(out.name + "_results"), *COMMON, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def losses(results_dir):
    rows = [json.loads(line) for line in (results_dir / "train_metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if r["kind"] == "step"], [r for r in rows if r["kind"] == "epoch"]


@pytest.fixture(scope="session")
def fsdp_run(tiny):
    """One uninterrupted 2-process FSDP2 run that several tests read."""
    out = tiny / "run2"
    proc = torchrun(tiny, out)
    return out, proc


# ---- pieces ----------------------------------------------------------------------------------

def test_lr_schedule_first_and_last_values():
    assert lr_at(0, 480, 1e-5, 1e-6) == pytest.approx(1e-5)
    assert lr_at(479, 480, 1e-5, 1e-6) == pytest.approx(1e-6)
    assert lr_at(240, 481, 1e-5, 1e-6) == pytest.approx(5.5e-6)
    assert lr_at(0, 480, 1e-5, 1e-6) > lr_at(1, 480, 1e-5, 1e-6)        # no warmup


def test_residual_dropout_rates_rise_by_layer_and_eval_disables_them():
    assert resid_dropout_rates(4, 0.3) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert resid_dropout_rates(80, 0.3)[0] == 0 and resid_dropout_rates(80, 0.3)[-1] == pytest.approx(0.3)
    from transformers import LlamaForCausalLM
    torch.manual_seed(0)
    model = LlamaForCausalLM(tiny_config(64, hidden=32, layers=4, heads=2))
    keys = set(model.state_dict())
    plain = LlamaForCausalLM(tiny_config(64, hidden=32, layers=4, heads=2))
    plain.load_state_dict(model.state_dict())
    rates = add_residual_dropout(model, 0.3)
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert [layer.resid_dropout.p for layer in model.model.layers] == pytest.approx(rates)
    assert set(model.state_dict()) == keys                          # checkpoints stay loadable
    x = torch.randint(0, 64, (2, 16))
    model.train()
    assert not torch.allclose(model(x).logits, model(x).logits)      # masks drawn in train mode
    model.eval()
    plain.eval()
    torch.testing.assert_close(model(x).logits, plain(x).logits)     # off in eval: the plain model


def test_label_mask_covers_assistant_tokens_and_their_eot_only(tiny):
    tok = load_tokenizer(tiny / "base")
    eot = tok.convert_tokens_to_ids(EOT)
    conv = ["Is 4 even?", "4 is even.", "And 5?", "5 is odd."]
    r = render_conversation(tok, conv, 512)
    assert r.input_ids[0] == tok.bos_token_id and r.input_ids.count(eot) == 4
    supervised = tok.decode([i for i, l in zip(r.input_ids, r.labels) if l != IGNORE])
    assert supervised == "4 is even.<|eot|>5 is odd.<|eot|>"
    assert tok.decode(r.input_ids) == "<s>Is 4 even?<|eot|>4 is even.<|eot|>And 5?<|eot|>5 is odd.<|eot|>"
    single = render_conversation(tok, conv[:2], 512)
    assert tok.decode([i for i, l in zip(single.input_ids, single.labels) if l != IGNORE]) == "4 is even.<|eot|>"
    cut = render_conversation(tok, ["word " * 80, "answer"], 16)             # prompt fills max-len
    assert cut.trimmed and n_targets(cut.labels) == 0
    assert tok.pad_token not in (tok.eos_token, EOT)


def test_multi_turn_training_targets_are_the_assistant_turns_and_their_eot_only(tiny):
    """A three-exchange conversation read and rendered as training reads it, collated, and fed to the
    loss: every user token is IGNORE, every assistant token and its EOT a target, and the loss the
    training step gets is the cross-entropy of exactly those positions."""
    from collections import Counter
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM
    from lima.train.data import read_conversations, render_all
    from lima.train.loss import micro_loss
    tok = load_tokenizer(tiny / "base")
    eot = tok.convert_tokens_to_ids(EOT)
    turns = ["Plan a market stall?", "Sell bread.", "And the list?", "Flour, water, salt.", "Thanks?", "You are welcome.",
             "One more?"]                                              # the trailing user turn is dropped
    path = write_rows(tiny / "multi_turn.jsonl", [{"id": "m/1", "source": "multi_turn", "conversations": turns},
                                                  {"id": "m/2", "source": "authors", "conversations": turns[:2]}])
    counts = Counter()
    examples = render_all(tok, read_conversations(path, counts), 512, counts, "train")
    assert counts["dropped_trailing_user_turn"] == 1
    ids, labels, n_target = examples[0]
    # walk the turns: user span IGNORE, assistant span (with its EOT) supervised, in order
    pos = 1                                                            # after BOS
    assert ids[0] == tok.bos_token_id and labels[0] == IGNORE
    for k, text in enumerate(turns[:6]):
        piece = tok.encode(text, add_special_tokens=False) + [eot]
        assert ids[pos:pos + len(piece)] == piece
        assert labels[pos:pos + len(piece)] == (piece if k % 2 else [IGNORE] * len(piece)), (k, text)
        pos += len(piece)
    assert pos == len(ids)
    assert n_target == sum(len(tok.encode(t, add_special_tokens=False)) + 1 for t in turns[1:6:2])
    batch = collate([(i, l) for i, l, _ in examples], pad_id=tok.pad_token_id)
    model = AutoModelForCausalLM.from_pretrained(tiny / "base")
    model.resize_token_embeddings(len(tok))
    model.eval()
    ce, _, _ = micro_loss(model, batch, torch.device("cpu"))
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    target = torch.zeros_like(batch["input_ids"], dtype=torch.bool)
    target[0, 1:len(ids)] = torch.tensor([lab != IGNORE for lab in labels[1:]])
    target[1, 1:len(examples[1][0])] = torch.tensor([lab != IGNORE for lab in examples[1][1][1:]])
    assert int(target.sum()) == n_target + examples[1][2]
    rows, cols = target.nonzero(as_tuple=True)
    by_hand = F.cross_entropy(logits[rows, cols - 1], batch["input_ids"][rows, cols], reduction="sum")
    torch.testing.assert_close(ce.detach(), by_hand, rtol=1e-5, atol=1e-4)


def test_chat_template_renders_exactly_what_is_trained(tiny):
    tok = load_tokenizer(tiny / "base")
    conv = ["Is 4 even?", "4 is even.", "And 5?"]
    messages = [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(conv)]
    ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=False)
    r = render_conversation(tok, conv, 512)
    assert list(ids) == r.input_ids


def test_batches_are_length_grouped_and_identical_for_any_world_size():
    lengths = [5 + (i * 37) % 200 for i in range(100)]
    targets = [n // 2 for n in lengths]
    one = plan_epoch(lengths, targets, batch_size=8, world=1, micro_batch_size=2, seed=0, epoch=0, first_step=0)
    two = plan_epoch(lengths, targets, batch_size=8, world=2, micro_batch_size=2, seed=0, epoch=0, first_step=0)
    flat = lambda step: sorted(i for rank in step.slots for slot in rank for i in slot)
    assert [flat(s) for s in one] == [flat(s) for s in two]
    assert sorted(i for s in one for i in flat(s)) == list(range(100))
    assert all(len(r) == 2 for s in two for r in s.slots)             # every rank, same number of slots
    # 100 = 12 x 8 + 4: the short batch comes last, its two micro-batches followed by empty slots
    assert len(flat(one[-1])) == 4 and one[-1].slots[0][2:] == [[], []]
    assert two[-1].slots[0][1] == [] and two[-1].slots[1][1] == []
    waste = lambda plan: sum(max(lengths[i] for i in mb) * len(mb) - sum(lengths[i] for i in mb)
                             for s in plan for r in s.slots for mb in r if mb)
    import random
    rnd = list(range(100))
    random.Random(0).shuffle(rnd)
    naive = sum(max(lengths[i] for i in rnd[k:k + 2]) * 2 - sum(lengths[i] for i in rnd[k:k + 2]) for k in range(0, 100, 2))
    assert waste(one) < naive / 3
    batch = collate([([1, 2, 3], [IGNORE, 2, 3]), ([4], [IGNORE])], pad_id=9)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 9, 9]]
    assert batch["labels"].tolist() == [[IGNORE, 2, 3], [IGNORE, IGNORE, IGNORE]]


# ---- real runs -------------------------------------------------------------------------------

@pytest.mark.slow
def test_fsdp_two_process_run_learns_and_exports(fsdp_run):
    out, proc = fsdp_run
    step_losses, epochs = losses(out.with_name(out.name + "_results"))
    assert len(step_losses) == 15 and len(epochs) == 3
    assert sum(step_losses[-5:]) / 5 < sum(step_losses[:5]) / 5 * 0.6
    assert epochs[-1]["dev_ppl"] < epochs[0]["dev_ppl"]
    assert (out / "TRAINED").exists() and (out / "state" / "COMPLETE").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("epoch_")) == ["epoch_01", "epoch_02", "epoch_03"]
    summary = json.loads((out / "train_summary.json").read_text())
    held = summary["weights_held_before_sharding"]
    assert held[0] > 0 and held[1] == 0          # rank 1 built on meta and received only its shards
    assert (out.with_name(out.name + "_results") / "train_loss.png").stat().st_size > 1000


@pytest.mark.slow
def test_export_loads_renders_eot_and_generation_stops_at_eot(fsdp_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    out, _ = fsdp_run
    ckpt = out / "epoch_03"
    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    gen = GenerationConfig.from_pretrained(ckpt)
    eot = tok.convert_tokens_to_ids(EOT)
    assert gen.eos_token_id == eot and gen.pad_token_id == tok.pad_token_id != eot
    assert (gen.top_p, gen.temperature, gen.do_sample) == (0.9, 0.7, True)
    assert list(ckpt.glob("*.safetensors")) and not list(ckpt.glob("*.bin"))
    ids = tok.apply_chat_template([{"role": "user", "content": "Is 12 even?"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    assert tok.decode(ids["input_ids"][0]) == "<s>Is 12 even?<|eot|>"
    torch.manual_seed(0)
    new = model.generate(**ids, max_new_tokens=30)[0, ids["input_ids"].shape[1]:].tolist()
    assert eot in new and len(new) < 30 and new[-1] == eot, tok.decode(new)


@pytest.mark.slow
def test_one_and_two_processes_give_the_same_losses(tiny):
    one = tiny / "run1p"
    run_script("05_train.py", "--model", tiny / "base", "--train", tiny / "train.jsonl", "--dev", tiny / "dev.jsonl",
               "--out", one, "--results", tiny / "run1p_results", *COMMON, "--epochs", "1", "--resid-dropout", "0")
    two = tiny / "run2p"
    torchrun(tiny, two, "--epochs", "1", "--resid-dropout", "0")
    a, _ = losses(tiny / "run1p_results")
    b, _ = losses(tiny / "run2p_results")
    assert len(a) == len(b) == 5
    torch.testing.assert_close(torch.tensor(a), torch.tensor(b), rtol=0, atol=1e-5)


@pytest.mark.slow
def test_layers_kept_unsharded_through_the_step_train_the_same_model(tiny):
    """KEEP_UNSHARDED (lima.distributed.hold_gathered): 4 micro-batches per rank accumulate their
    gradients unsharded and reduce-scatter once; the result must be the per-micro-batch one's."""
    from conftest import read_export
    runs = {}
    for mode in ("no", "auto"):
        out = tiny / f"run_keep_{mode}"
        proc = torchrun(tiny, out, "--epochs", "1", "--keep-unsharded", mode)
        runs[mode] = out
        said = "kept unsharded through each step" if mode == "auto" else "gathered per micro-batch"
        assert f"layers {said}" in proc.stderr      # auto: the plan fits with it on this machine
    (a, ea), (b, eb) = (losses(runs[m].with_name(runs[m].name + "_results")) for m in ("no", "auto"))
    assert len(a) == len(b) == 5
    torch.testing.assert_close(torch.tensor(a), torch.tensor(b), rtol=0, atol=1e-5)
    assert ea[0]["dev_loss"] == pytest.approx(eb[0]["dev_loss"], abs=1e-5)
    wa, wb = read_export(runs["no"] / "epoch_01"), read_export(runs["auto"] / "epoch_01")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=1e-5)
    # how the layers are gathered is not part of the run: a state saved one way resumes the other way
    # (a requeued Slurm job may land on nodes whose plan chooses differently)
    out = tiny / "run_keep_resumed"
    torchrun(tiny, out, "--epochs", "1", "--keep-unsharded", "no", "--save-every", "2", "--stop-after-steps", "2")
    proc = torchrun(tiny, out, "--epochs", "1", "--keep-unsharded", "yes")
    assert "resuming from" in proc.stderr and (out / "TRAINED").exists()


@pytest.mark.slow
def test_kill_and_resume_ends_with_identical_weights(tiny, fsdp_run):
    from conftest import read_export
    full, _ = fsdp_run
    out = tiny / "run_resumed"
    proc = torchrun(tiny, out, "--save-every", "2", "--stop-after-steps", "8")
    assert not (out / "TRAINED").exists()
    proc = torchrun(tiny, out)
    assert "resuming from" in proc.stderr
    a = read_export(full / "epoch_03")
    b = read_export(out / "epoch_03")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    la, _ = losses(full.with_name(full.name + "_results"))
    lb, _ = losses(out.with_name(out.name + "_results"))
    assert la == lb                                       # metric rows past the resumed step were dropped


@pytest.mark.slow
def test_changed_data_starts_afresh_instead_of_resuming(tiny, fsdp_run, caplog):
    import logging
    import shutil
    caplog.set_level(logging.INFO, logger="lima")
    full, _ = fsdp_run
    out = tiny / "run_changed"
    shutil.copytree(full, out)
    rows = [json.loads(line) for line in (tiny / "train.jsonl").read_text().splitlines()][:24]
    changed = write_rows(tiny / "train_changed.jsonl", rows)
    run_script("05_train.py", "--model", tiny / "base", "--train", changed, "--dev", tiny / "dev.jsonl",
               "--out", out, "--results", tiny / "run_changed_results", *COMMON, "--epochs", "1")
    assert "starting afresh" in caplog.text
    step_losses, _ = losses(tiny / "run_changed_results")
    assert len(step_losses) == 3


def test_file_where_every_example_is_cut_off_is_an_error(tiny, capsys):
    rows = [{"conversations": ["word " * 200, "answer"]}] * 3
    bad = write_rows(tiny / "train_long.jsonl", rows)
    code = run_script("05_train.py", "--model", tiny / "base", "--train", bad, "--dev", tiny / "dev.jsonl",
                      "--out", tiny / "never", "--max-len", "32", expect_exit=2)
    assert "every example was dropped" in capsys.readouterr().err


@pytest.mark.slow
def test_activation_checkpointing_keeps_the_losses_and_cpu_offload_is_ignored_without_gpu(tiny, caplog):
    import logging
    caplog.set_level(logging.INFO, logger="lima")
    runs = {}
    for name, extra in (("plain", []), ("ac", ["--activation-checkpointing", "--cpu-offload"])):
        run_script("05_train.py", "--model", tiny / "base", "--train", tiny / "train.jsonl", "--dev", tiny / "dev.jsonl",
                   "--out", tiny / f"run_{name}", "--results", tiny / f"run_{name}_results", *COMMON, "--epochs", "1",
                   *extra)
        runs[name], _ = losses(tiny / f"run_{name}_results")
    assert runs["plain"] == runs["ac"]          # dropout masks too: the recompute restores the RNG
    assert "--cpu-offload ignored" in caplog.text
