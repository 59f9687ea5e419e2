"""The memory plan of stage 05 (lima/train/memory_plan.py): LLaMA's published shapes, the paper's
recipe on one node of 8 × 80 GB, the suggestions, bad configs, make plan, and the plan against the
measured peak of a real CPU run.

Run: .venv/bin/python -m pytest -q tests/test_memory_plan.py
"""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import ROOT, TOY_TEXTS, run_script, write_rows
from lima.errors import StageError
from lima.train.memory_plan import GB, Settings, alternatives, make_plan, plan_with_gathering, read_shape

FIXTURES = ROOT / "tests" / "fixtures" / "llama"
PAPER = Settings(nproc_per_node=8, nnodes=1, micro_batch=1, max_len=2048, batch_size=32,
                 activation_checkpointing=True, cpu_offload=False, gpu=True, device_mem_gb=80, host_mem_gb=2048)
# The CPU measure is rank 0's resident memory (ru_maxrss). Measured on the 2-core machine: plan /
# measured = 0.69 without and 0.61 with activation checkpointing for this 26M model: about 0.4 GB
# the plan does not model (memory the allocator keeps after rank 0's checkpoint copy and the
# optimizer's temporaries, gloo's buffers). The stated factor is 2.
FACTOR = 2.0


def shape(name):
    return read_shape(FIXTURES / name / "config.json")


@pytest.mark.parametrize("name,published", [("7b", 6.7e9), ("13b", 13.0e9), ("33b", 32.5e9), ("65b", 65.2e9)])
def test_parameter_counts_match_the_published_models(name, published):
    assert shape(name).params == pytest.approx(published, rel=0.01)


def test_states_are_16_bytes_a_parameter_sharded_over_the_world():
    sh = shape("65b")
    plan = make_plan(sh, PAPER)
    states = sum(v for k, v in plan.device.items() if k.endswith("(sharded)"))
    assert states == pytest.approx(16 * sh.params / 8)
    assert 16 * sh.params / 1e12 == pytest.approx(1.04, abs=0.01)        # ~1.04 TB in all


def test_65b_on_one_node_of_8x80_does_not_fit_and_the_plan_says_what_does():
    plan = make_plan(shape("65b"), PAPER)
    assert not plan.fits and plan.device_total > 80 * GB
    alt = alternatives(shape("65b"), PAPER)
    assert any(a.startswith("NNODES=4 ") for a in alt)     # 16 GPUs do not fit, 24 do not divide batch 32
    assert any(a.startswith("CPU_OFFLOAD=yes") for a in alt)
    assert not make_plan(shape("65b"), replace(PAPER, nnodes=2)).fits
    assert make_plan(shape("65b"), replace(PAPER, nnodes=4)).fits
    offload = make_plan(shape("65b"), replace(PAPER, cpu_offload=True))
    assert offload.fits and offload.device_total < 20 * GB and 1000 * GB < offload.host_total < 1200 * GB
    # a node with too little memory for the offloaded states says so
    small = make_plan(shape("65b"), replace(PAPER, cpu_offload=True, host_mem_gb=512))
    assert small.fits_device and not small.fits_host


def test_activation_checkpointing_is_named_when_it_alone_fits():
    sh = shape("7b")
    two = replace(PAPER, nproc_per_node=2, batch_size=64, activation_checkpointing=False)
    assert not make_plan(sh, two).fits
    assert alternatives(sh, two) == ["ACTIVATION_CHECKPOINTING=yes"]
    ablation = replace(PAPER, batch_size=64, activation_checkpointing=False)     # the 7B ablations
    assert make_plan(sh, ablation).fits


def test_layers_stay_unsharded_through_the_step_only_where_the_plan_fits_with_it():
    seven, big = shape("7b"), shape("65b")
    kept = plan_with_gathering(seven, PAPER, "auto")            # 7B on 8 x 80 GB: room to keep every layer
    assert kept.settings.keep_unsharded and kept.fits
    gathered = make_plan(seven, PAPER)
    extra = kept.device_total - gathered.device_total           # every layer's weights (bf16) + fp32 gradients
    assert extra == pytest.approx((6 * seven.layers + 4 - 10) * seven.layer_params)
    assert not plan_with_gathering(big, replace(PAPER, nnodes=4), "auto").settings.keep_unsharded
    assert not plan_with_gathering(seven, replace(PAPER, cpu_offload=True), "auto").settings.keep_unsharded
    assert not plan_with_gathering(seven, PAPER, "no").settings.keep_unsharded
    # the 7B ablations would fit kept, but within 2% of the GPU: auto leaves that headroom alone
    ablation = replace(PAPER, batch_size=64, activation_checkpointing=False)
    assert make_plan(seven, replace(ablation, keep_unsharded=True)).fits
    assert not plan_with_gathering(seven, ablation, "auto").settings.keep_unsharded
    # asked for where it does not fit: the plan names the setting that does
    forced = plan_with_gathering(big, replace(PAPER, nnodes=4), "yes")
    assert not forced.fits and alternatives(big, forced.settings) == ["KEEP_UNSHARDED=no"]


@pytest.mark.parametrize("config,needle", [
    ({"model_type": "gpt2", "n_embd": 768}, "unknown architecture 'gpt2'"),
    ({"model_type": "llama", "hidden_size": 64}, "missing or not a positive integer: intermediate_size"),
    ("not json {", "not readable as JSON"),
])
def test_a_config_the_plan_cannot_read_is_one_line_naming_the_fields(tmp_path, config, needle):
    (tmp_path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    with pytest.raises(StageError) as e:
        read_shape(tmp_path / "config.json")
    msg = str(e.value)
    assert needle in msg and "hidden_size, intermediate_size, num_hidden_layers" in msg and "\n" not in msg


def test_plan_flag_bad_config_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    run_script("05_train.py", "--plan", "--model", tmp_path, "--train", tmp_path / "t", "--dev", tmp_path / "d",
               "--out", tmp_path / "out", expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown architecture 't5'" in err[0]


def test_check_stops_before_loading_when_the_plan_does_not_fit(toy, tmp_path, capsys):
    """--check (make runs it before torchrun) says which setting fits; nothing is read but config.json."""
    run_script("05_train.py", "--check", "--model", toy / "base", "--train", toy / "train.jsonl", "--dev",
               toy / "dev.jsonl", "--out", tmp_path / "out", "--plan-device", "cpu", "--host-mem-gb", "0.2",
               expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not fit" in err[0] and "make plan" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_make_plan_paper_profile_65b(tmp_path):
    """Through make, as a reviewer runs it: 8 × 80 GB does not fit, and what does; the profile's
    defaults (CPU offload) fit a node with 2 TB."""
    (tmp_path / "config.json").write_text((FIXTURES / "65b" / "config.json").read_text())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base = ["make", "-s", "--no-print-directory", "plan", "PROFILE=paper", f"MODEL={tmp_path}", "HOST_MEM_GB=2048",
            f"RESULTS={tmp_path / 'results'}"]
    no = subprocess.run(base + ["CPU_OFFLOAD=no"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert no.returncode == 0, no.stderr
    last = no.stdout.strip().splitlines()[-1]
    assert "65.29B parameters on 1 node(s) × 8 GPUs of 80 GB" in last and last.startswith("does not fit")
    assert "NNODES=4" in last and "CPU_OFFLOAD=yes" in last
    yes = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert yes.stdout.strip().splitlines()[-1].startswith("fits:"), yes.stdout + yes.stderr


@pytest.mark.slow
def test_plan_is_within_a_stated_factor_of_a_measured_cpu_run(tmp_path, capsys):
    """A 26M-parameter LLaMA, 2 ranks (FSDP2, gloo), every sequence at --max-len: the plan's figure
    per process against train_metrics.jsonl's peak_mem_mb, both printed by --plan."""
    import torch
    from transformers import LlamaForCausalLM
    from lima.base.tiny import save_base, tiny_config, train_tokenizer
    torch.manual_seed(0)
    tok = train_tokenizer(TOY_TEXTS, 512)
    cfg = tiny_config(len(tok), hidden=512, layers=8, heads=8)
    cfg.intermediate_size = 1376
    save_base(LlamaForCausalLM(cfg), tok, tmp_path / "base")
    rows = [{"id": f"l/{i}", "source": "authors", "conversations": [f"Tell me about {i}.", " ".join(TOY_TEXTS[i:i + 60])]}
            for i in range(32)]
    write_rows(tmp_path / "train.jsonl", rows)
    write_rows(tmp_path / "dev.jsonl", rows[:2])
    args = ["--model", tmp_path / "base", "--train", tmp_path / "train.jsonl", "--dev", tmp_path / "dev.jsonl",
            "--out", tmp_path / "out", "--results", tmp_path / "res", "--max-len", "256", "--micro-batch-size", "2",
            "--batch-size", "8", "--lr", "1e-4"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(ROOT / "scripts" / "05_train.py"), *args, "--stop-after-steps", "3"]
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert (tmp_path / "res" / "train_metrics.jsonl").exists(), proc.stderr[-2000:]
    run_script("05_train.py", "--plan", *args, "--nproc-per-node", "2", "--plan-device", "cpu")
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "measured peak" in ln)
    ratio = float(line.rsplit("= ", 1)[1].rstrip(")"))
    assert 1 / FACTOR <= ratio <= FACTOR, out
