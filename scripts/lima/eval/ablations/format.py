"""Appendix E's format-constraint ablation: the format-constrained test prompts, the model trained
with the format-constraint examples against the one trained without, judged pairwise in both orders,
and the report fragment."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from lima.eval.ablations.draws import without_flag


def flagged_conversations(prompts: Path, train: Path | None, flag: str, *, flag_file: Path | None = None,
                          client=None) -> tuple[list[dict], int | None, dict]:
    """The prompts with meta.<flag> as one-turn conversations, how many training examples carry the
    flag (None without a training set, or when its rows carry no flags and the flag file names none of
    them), and where the prompts' flags came from (lima/eval/preference/flags.py: the rows, the flag file, the judge)."""
    from lima.dataset.contract import read_contract_rows
    from lima.errors import StageError
    from lima.eval.preference.flags import resolve_flags, unflagged_rows

    counts = Counter()
    rows = read_contract_rows(prompts, counts)
    record, _ = resolve_flags(rows, flag_file=flag_file, client=client, label=prompts.name,
                              need=f"the prompts with meta.{flag}")
    _, flagged = without_flag(rows, flag)
    if not flagged:
        hint = ("" if record["source"] == "rows" else
                f"; {record['n_unflagged']} of {record['n_rows']} carry no flags of their own and the "
                f"{'flag source (' + record['source'] + ')' if record['source'] != 'none' else 'flag file and judge'} "
                f"marked none: give FLAGS=file (id -> flags) naming the format-constrained prompts")
        raise StageError(prompts, f"no prompt has meta.{flag}{hint}")
    n_examples = None
    if train:                   # only for the report's count: the flag file, never 1,000 judge calls
        train_rows = read_contract_rows(train, counts)
        if flag_file and unflagged_rows(train_rows):
            resolve_flags(train_rows, flag_file=flag_file, label=train.name, need="the count of flagged examples")
        n = len(without_flag(train_rows, flag)[1])
        n_examples = n if n or not unflagged_rows(train_rows) else None
    return [{"id": r["id"], "turns": [r["conversations"][0]]} for r in flagged], n_examples, record


def judge_format_pairs(client, gens: dict[str, list[dict]], items_path: Path) -> dict:
    """The full model ("ours") against the ablated one, pairwise in both orders; the items are written
    to `items_path`, the win/tie/loss summary returned."""
    from lima.eval.judge.judging import judge_pairwise
    from lima.eval.generation.metrics import pairwise_summary
    from lima.io import write_jsonl

    ablated = {g["id"]: g["response"] for g in gens["ablated"]}
    pairs = [{"id": g["id"], "sample_idx": 0, "prompt": g["prompt"], "ours": g["response"],
              "theirs": ablated[g["id"]]} for g in gens["full"]]
    items = judge_pairwise(client, pairs)
    write_jsonl(items_path, items)
    return pairwise_summary(items)


def side_by_side(gens: dict[str, list[dict]]) -> list[dict]:
    ablated = {g["id"]: g["response"] for g in gens["ablated"]}
    return [{"id": g["id"], "prompt": g["prompt"], "full": g["response"], "ablated": ablated[g["id"]]}
            for g in gens["full"]]


def render_format_report(summary: dict, no_judge_line: str) -> str:
    """report/format_ablation.md: the model with the format-constraint examples against the one
    without, on the format-constrained test prompts (Appendix E)."""
    n_examples = f"{summary['format_examples']} " if summary.get("format_examples") else ""
    lines = ["## Format constraints (Appendix E)", "",
             f"`{summary['full']}` (trained with the {n_examples}format-constraint examples) against "
             f"`{summary['ablated']}` (trained without them) on the {summary['n_prompts']} test prompts marked "
             "`format_constraint`. The paper shows one example (a sectioned marketing plan) rather than a figure.", ""]
    if summary.get("flags") and summary["flags"]["source"] != "rows":
        from lima.eval.preference.flags import describe_source
        lines += [describe_source(summary["flags"]), ""]
    pw = summary.get("pairwise")
    if pw:
        d = pw["debiased"]
        pc = d["percent"]
        lines += ["| With format examples vs without | win | tie | loss | unparseable |", "|---|---:|---:|---:|---:|",
                  f"| debiased over both orders (n={d['n']}) | {pc['win']} | {pc['tie']} | {pc['loss']} | {d['unparseable']} |", ""]
    else:
        lines += [f"Judge: {no_judge_line}.", ""]
    lines += ["| Prompt | With format examples | Without |", "|---|---|---|"]
    cut = lambda t: (t[:240] + " ...") if len(t) > 240 else t     # noqa: E731
    esc = lambda t: cut(t).replace("|", "\\|").replace("\n", "<br>")  # noqa: E731
    for row in summary["side_by_side"]:
        lines.append(f"| {esc(row['prompt'])} | {esc(row['full'])} | {esc(row['ablated'])} |")
    lines.append("")
    return "\n".join(lines)
