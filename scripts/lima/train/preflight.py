"""`05_train.py --preflight DIR` (make preflight): the few-minute check a reviewer runs on the cluster
before the real run, with the real model and the real world size, writing only under DIR.

Checks, each PASS or FAIL on one line of the verdict:
1. plan: the memory plan of the real run (all nodes) fits (lima/train/memory_plan.py).
2. train: stage 05 itself under torchrun on this node's NPROC ranks, a few steps on the longest
   examples of the training file (the run's memory peak), one epoch, one export.
3. export: the folder holds weights, tokenizer, a generation config whose end token is EOT.
4. template: the exported chat template renders the very ids training renders (lima/chat.py), for
   whole conversations and for the prompt a generation starts from.
5. reload: `from_pretrained` on the export, finite logits.
6. eot: `generate()` with the exported generation config stops at EOT. A model a few steps into
   fine-tuning has not learnt to emit the new token, so EOT is forced after a few tokens: what is
   checked is the stopping, i.e. the export's end token, not the learning (which the real run's
   dev generations show).
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lima.chat import EOT, prompt_ids, render_conversation
from lima.errors import StageError
from lima.io import read_jsonl, write_json, write_jsonl

log = logging.getLogger("lima.train")
STEPS = 3               # optimizer steps of the training check
FORCE_EOT_AFTER = 4     # new tokens before EOT is forced in the generation check
MAX_NEW_TOKENS = 16


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def pick_examples(train: Path | None, n: int, seed_text: str = "The quick brown fox jumps over the lazy dog. ") -> list[dict]:
    """The n longest training conversations (the real run's memory peak), or made-up long ones when
    the training file does not exist yet."""
    if train and train.is_file():
        from lima.train.data import read_conversations
        rows = read_conversations(train, Counter())
        rows = sorted(rows, key=lambda r: (-sum(map(len, r["conversations"])), r["id"]))[:n]
        if rows:
            return [{"id": r["id"], "source": r.get("source", "authors"), "conversations": r["conversations"]}
                    for r in (rows * n)[:n]]
    return [{"id": f"preflight/{i}", "source": "authors",
             "conversations": [f"Question {i}: say something long.", seed_text * 400]} for i in range(n)]


def child_argv(args, work: Path, world: int) -> list[str]:
    """Stage 05's own command line for the training check: the run's recipe, one short epoch."""
    argv = ["--model", args.model, "--train", work / "train.jsonl", "--dev", work / "dev.jsonl",
            "--out", work / "ckpt", "--results", work / "results", "--epochs", 1,
            "--batch-size", world * args.micro_batch_size, "--micro-batch-size", args.micro_batch_size,
            "--lr", args.lr, "--final-lr", args.final_lr, "--weight-decay", args.weight_decay, "--beta2", args.beta2,
            "--max-len", args.max_len, "--resid-dropout", args.resid_dropout, "--max-grad-norm", args.max_grad_norm,
            "--seed", args.seed, "--keep-epochs", "last", "--export-dtype", args.export_dtype,
            "--keep-unsharded", args.keep_unsharded]
    argv += ["--activation-checkpointing"] * args.activation_checkpointing + ["--cpu-offload"] * args.cpu_offload
    argv += ["--ignore-plan"] * args.ignore_plan
    for flag, value in (("--device-mem-gb", args.device_mem_gb), ("--host-mem-gb", args.host_mem_gb)):
        if value:
            argv += [flag, value]
    return [str(a) for a in argv]


def check_plan(args) -> tuple[Check, object]:
    from lima.train.memory_plan import format_plan, plan_for_run, verdict
    plan = plan_for_run(args)
    (Path(args.preflight) / "plan.txt").write_text(format_plan(plan) + "\n")
    return Check("plan", plan.fits, verdict(plan)), plan


def check_train(args, work: Path, script: Path) -> Check:
    world = args.nproc_per_node
    rows = pick_examples(args.train, STEPS * world * args.micro_batch_size)
    write_jsonl(work / "train.jsonl", rows)
    write_jsonl(work / "dev.jsonl", rows[:max(world, 2)])
    launch = [sys.executable] if world == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                  f"--nproc_per_node={world}"]
    cmd = [*launch, str(script), *child_argv(args, work, world)]
    t0 = time.perf_counter()
    with open(work / "train.log", "w") as logf:
        proc = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    dt = time.perf_counter() - t0
    metrics = work / "results" / "train_metrics.jsonl"
    steps = [r for r in read_jsonl(metrics, tolerate_torn_tail=True) if r["kind"] == "step"] if metrics.exists() else []
    if proc.returncode != 0 or not (work / "ckpt" / "TRAINED").exists():
        tail = [ln for ln in (work / "train.log").read_text(errors="replace").splitlines() if ln.strip()][-1:]
        return Check("train", False, f"05_train.py on {world} rank(s) exited {proc.returncode} after {dt:.0f} s: "
                                     f"{tail[0][:200] if tail else 'no output'} (log: {work / 'train.log'})")
    losses = [r["loss"] for r in steps]
    if not losses or not all(math.isfinite(x) for x in losses):
        return Check("train", False, f"losses not finite: {losses}")
    peak = max(r.get("peak_mem_mb", 0) for r in steps)
    mfu = [r["mfu"] for r in steps if "mfu" in r]
    return Check("train", True, f"{len(steps)} steps on {world} rank(s) in {dt:.0f} s, loss {losses[0]:.3f} -> "
                                f"{losses[-1]:.3f}, peak {peak / 1024:.2f} GB (rank 0)"
                                + (f", MFU {mfu[-1]:.1%}" if mfu else ""))


def check_export(export: Path) -> Check:
    need = ["config.json", "generation_config.json", "tokenizer_config.json"]
    missing = [f for f in need if not (export / f).is_file()] + ([] if any(export.glob("*.safetensors")) else ["*.safetensors"])
    if missing:
        return Check("export", False, f"{export}: missing {', '.join(missing)}")
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(export)
    eos = json.loads((export / "generation_config.json").read_text()).get("eos_token_id")
    eot = tok.convert_tokens_to_ids(EOT)
    if eos != eot and not (isinstance(eos, list) and eot in eos):
        return Check("export", False, f"generation_config.json ends at {eos}, EOT is {eot}")
    size = sum(f.stat().st_size for f in export.glob("*.safetensors")) / 1e9
    return Check("export", True, f"{export.name}: {size:.2f} GB of safetensors, end token EOT ({eot})")


def check_template(tokenizer, conversations: list[list[str]], max_len: int, source: str) -> Check:
    """The exported template against training's rendering (lima.chat), ids for ids."""
    for conv in conversations:
        messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(conv)]
        trained = render_conversation(tokenizer, conv, 10 ** 9).input_ids
        templated = list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False))
        if templated != trained:
            at = next((i for i, (a, b) in enumerate(zip(templated, trained)) if a != b), min(len(templated), len(trained)))
            return Check("template", False, f"{source}: the chat template's ids differ from training's at token {at} "
                                            f"(template {templated[at:at + 5]}, training {trained[at:at + 5]})")
        prompt = list(tokenizer.apply_chat_template(messages[:1], tokenize=True, add_generation_prompt=True,
                                                    return_dict=False))
        if prompt != prompt_ids(tokenizer, conv[:1]):
            return Check("template", False, f"{source}: the generation prompt's ids differ from training's")
    return Check("template", True, f"{source}: {len(conversations)} conversation(s) and their prompts render the "
                                   f"same ids as training")


def check_reload_and_eot(export: Path, prompt: str) -> list[Check]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList
    tok = AutoTokenizer.from_pretrained(export)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        model = AutoModelForCausalLM.from_pretrained(export, dtype="auto").to(device).eval()
    except Exception as e:       # noqa: BLE001 - any load failure is this check's verdict
        return [Check("reload", False, f"from_pretrained: {type(e).__name__}: {str(e).splitlines()[0][:200]}"),
                Check("eot", False, "no model")]
    ids = torch.tensor([tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=True,
                                                add_generation_prompt=True, return_dict=False)], device=device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    reload = Check("reload", bool(torch.isfinite(logits).all()),
                   f"from_pretrained({export.name}) on {device}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M "
                   f"parameters, logits {'finite' if torch.isfinite(logits).all() else 'NOT finite'}")
    eot = tok.convert_tokens_to_ids(EOT)

    class ForceEot(LogitsProcessor):
        """After FORCE_EOT_AFTER new tokens only EOT may come (see the module docstring)."""
        def __call__(self, input_ids, scores):
            if input_ids.shape[1] - ids.shape[1] >= FORCE_EOT_AFTER:
                scores = torch.full_like(scores, -float("inf"))
                scores[:, eot] = 0.0
            return scores

    torch.manual_seed(0)
    out = model.generate(ids, max_new_tokens=MAX_NEW_TOKENS, logits_processor=LogitsProcessorList([ForceEot()]))
    new = out[0, ids.shape[1]:].tolist()
    own = eot in new[:FORCE_EOT_AFTER]
    ok = bool(new) and new[-1] == eot and len(new) <= FORCE_EOT_AFTER + 1
    return [reload, Check("eot", ok, f"generate() with the export's generation config stopped after {len(new)} new "
                                     f"token(s) at {'EOT' if new and new[-1] == eot else new[-1:]}"
                                     + (" (EOT emitted unforced)" if own else f" (EOT forced after {FORCE_EOT_AFTER})"))]


def format_verdict(checks: list[Check], out: Path) -> str:
    lines = [f"preflight ({out}):"] + [f"  {'PASS' if c.ok else 'FAIL'}  {c.name:<9} {c.detail}" for c in checks]
    bad = [c.name for c in checks if not c.ok]
    lines.append(f"verdict: {'PASS' if not bad else 'FAIL (' + ', '.join(bad) + ')'}")
    return "\n".join(lines)


def run_preflight(args, script: Path) -> int:
    """Every check in order (a failed one does not hide the others), the verdict on screen and in
    DIR/verdict.{txt,json}; exit 0 only when all pass. The export is removed at the end (a 65B one
    is 130 GB); the log and the metrics stay under DIR/work."""
    from lima.train.model import check_model_dir
    check_model_dir(args.model)       # a GGUF or incomplete folder: the one line that says what to do, before any check
    out = Path(args.preflight)
    if out.resolve() == Path(args.out).resolve() or Path(args.out).resolve() in out.resolve().parents:
        raise StageError(out, "--preflight must not be inside --out: it writes nothing into the real run's folders")
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    checks = []
    plan_check, _ = check_plan(args)
    checks.append(plan_check)
    checks.append(check_train(args, work, script))
    export = work / "ckpt" / "epoch_01"
    rows = [r["conversations"] for r in read_jsonl(work / "train.jsonl")]
    if export.is_dir():
        from transformers import AutoTokenizer
        checks.append(check_export(export))
        checks.append(check_template(AutoTokenizer.from_pretrained(export), rows[:4], args.max_len, "export"))
        checks += check_reload_and_eot(export, rows[0][0][:500])
    else:
        from lima.train.model import load_tokenizer
        checks.append(Check("export", False, "no export (the training check failed)"))
        checks.append(check_template(load_tokenizer(args.model), rows[:4], args.max_len, "base tokenizer, no export"))
        checks += [Check("reload", False, "no export"), Check("eot", False, "no export")]
    text = format_verdict(checks, out)
    (out / "verdict.txt").write_text(text + "\n")
    write_json(out / "verdict.json", {"pass": all(c.ok for c in checks),
                                      "checks": [{"name": c.name, "pass": c.ok, "detail": c.detail} for c in checks]})
    shutil.rmtree(work / "ckpt", ignore_errors=True)
    print(text)
    return 0 if all(c.ok for c in checks) else 1
