"""Table 1 reproduced beside the paper's numbers: counts, mean input and output lengths
in characters and, with a tokenizer, in tokens; plus the examples longer than the 2,048-token cap.

Input = the user turns of a row, output = the assistant turns (for a single-turn row: the prompt
and the response). A row's full length, for the cap, is BOS + every turn + one EOT per turn
(docs/design.md#chat-format-and-eot).
"""
from __future__ import annotations

import statistics
from pathlib import Path

from lima import paper
from lima.dataset.assembly import BUCKETS
from lima.sources.stackexchange.html import format_summary, paragraph_stats

# The paper's Table 1, flags and token total: lima/paper.py (one place for every number of the paper).
PAPER_TABLE1 = paper.TABLE1
PAPER_FLAGS = paper.FLAGS
PAPER_TRAIN_TOKENS = paper.TRAIN_TOKENS
MAX_SEQ_LEN = 2048            # §3: the training length cap
# Line breaks in the release's 400 Stack Exchange answers, our count (docs/paper.md#measured-in-the-release):
# runs of one newline, runs of two or more.
RELEASE_SE_BREAKS = {"answers": 400, "single": 4472, "blank": 1393}


def load_length_fn(tokenizer_dir: Path | None):
    """(name, count) where count(texts) -> lengths: tokens of a local Hugging Face tokenizer
    folder, or None when there is none (characters only)."""
    if tokenizer_dir is None:
        return None, None
    from transformers import AutoTokenizer  # heavy import, only when asked for
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))

    def count(texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
    return str(tokenizer_dir), count


def _mean(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def build_composition(asm, tokenizer_name: str | None, count_tokens) -> dict:
    rows = []
    over_cap = {"train": 0, "train_dialogue": 0} if count_tokens else None
    for name, split, source in BUCKETS:
        chosen = asm.buckets[name].chosen
        inputs = ["\n".join(r["conversations"][0::2]) for r in chosen]
        outputs = ["\n".join(r["conversations"][1::2]) for r in chosen]
        label, p_n, p_in, p_out = PAPER_TABLE1[name]
        row = {"bucket": name, "split": split, "source": source, "label": label,
               "count": len(chosen), "quota": asm.buckets[name].quota, "paper_count": p_n,
               "input_chars": _mean([len(t) for t in inputs]),
               "output_chars": _mean([len(t) for t in outputs if t]),
               "input_tokens": None, "output_tokens": None,
               "paper_input_tokens": p_in, "paper_output_tokens": p_out}
        if count_tokens:
            t_in, t_out = count_tokens(inputs), count_tokens([t for t in outputs if t])
            row["input_tokens"], row["output_tokens"] = _mean(t_in), _mean(t_out)
            row["total_tokens"] = sum(t_in) + sum(t_out)
            if split in ("train", "train_dialogue"):
                for r in chosen:
                    turns = r["conversations"]
                    full = 1 + sum(count_tokens(turns)) + len(turns)
                    if full > MAX_SEQ_LEN:
                        over_cap["train_dialogue"] += 1
                        if split == "train":
                            over_cap["train"] += 1
        rows.append(row)
    flags = {split: {flag: sum(bool(r["meta"].get(flag)) for r in asm.split(split))
                     for flag in ("safety", "format_constraint", "ood")} for split in ("train", "dev", "test")}
    flags["release_rows"] = {split: sum(bool(r["meta"].get("from_release")) for r in asm.split(split))
                             for split in ("train", "dev", "test")}
    train_total = sum(r.get("total_tokens", 0) for r in rows if r["split"] == "train") if count_tokens else None
    return {"length_unit": "tokens and characters" if count_tokens else "characters",
            "tokenizer": tokenizer_name, "rows": rows,
            "train_examples": sum(r["count"] for r in rows if r["split"] == "train"),
            "train_tokens": train_total, "paper_train_tokens": PAPER_TRAIN_TOKENS,
            "over_max_seq_len": over_cap, "max_seq_len": MAX_SEQ_LEN,
            "flags": flags, "paper_flags": PAPER_FLAGS, "se_response_format": se_response_format(asm)}


def se_response_format(asm) -> dict:
    """How our Stack Exchange answers break lines, beside the release: paragraphs on one newline,
    blank lines around lists and code (lima/sources/stackexchange/html.py)."""
    answers = [t for name in ("se-stem", "se-other") for r in asm.buckets[name].chosen
               for t in r["conversations"][1::2]]
    rel = RELEASE_SE_BREAKS
    return {"ours": paragraph_stats(answers), "release": format_summary(rel["answers"], rel["single"], rel["blank"])}


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return f"{v:,}"


def composition_table(comp: dict) -> list[str]:
    tok = comp["tokenizer"] is not None
    head = "| Split | Source | # Examples (paper) | Avg input (paper, tokens) | Avg output (paper, tokens) |"
    head += " Avg input tokens | Avg output tokens |" if tok else ""
    head += " Avg input chars | Avg output chars |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in comp["rows"]:
        cells = [r["split"], r["label"], f"{_fmt(r['count'])} ({_fmt(r['paper_count'])})",
                 _fmt(r["paper_input_tokens"]), _fmt(r["paper_output_tokens"])]
        if tok:
            cells += [_fmt(r["input_tokens"]), _fmt(r["output_tokens"])]
        cells += [_fmt(r["input_chars"]), _fmt(r["output_chars"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def format_table(comp: dict) -> list[str]:
    fmt = comp["se_response_format"]
    lines = ["Response format of the Stack Exchange answers (line breaks, code included): a paragraph "
             "ends in one newline, a blank line sets off lists and code. The share and the ratio do not "
             "depend on answer length; the per-answer rates do.", "",
             "| Answers | # | Single-newline breaks per answer | Blank lines per answer | "
             "Single-newline share of breaks | Blank lines per single break |", "|---|---:|---:|---:|---:|---:|"]
    for label, key in (("GAIR/lima release", "release"), ("ours", "ours")):
        f = fmt[key]
        cells = [f"{f[k]:.2f}" if f[k] is not None else "–"
                 for k in ("single_per_answer", "blank_per_answer", "single_share", "blank_per_single")]
        lines.append(f"| {label} | {f['answers']:,} | " + " | ".join(cells) + " |")
    return lines


def length_note(comp: dict) -> str:
    if comp["tokenizer"]:
        over = comp["over_max_seq_len"]
        return (f"Lengths in tokens of `{comp['tokenizer']}` (no special tokens) and in characters. "
                f"Train: {comp['train_examples']:,} examples, {comp['train_tokens']:,} tokens (paper: "
                f"about {comp['paper_train_tokens']:,}). Longer than {comp['max_seq_len']:,} tokens "
                f"(BOS + turns + one EOT per turn): {over['train']} in train, "
                f"{over['train_dialogue']} in train_dialogue.")
    return ("Lengths are in **characters**: no tokenizer was given (`--tokenizer DIR`), so the "
            "token columns of the paper have no counterpart here and the 2,048-token cap is not "
            f"checked. Train: {comp['train_examples']:,} examples.")


def flags_note(comp: dict) -> str:
    f, p = comp["flags"], comp["paper_flags"]
    return (f"Safety prompts (`meta.safety`): {f['train']['safety']} in train (paper: {p['train']['safety']}), "
            f"{f['dev']['safety']} in dev, {f['test']['safety']} in test (paper: {p['test']['safety']}). "
            f"Format-constraint prompts (`meta.format_constraint`): {f['train']['format_constraint']} in train "
            f"(paper: {p['train']['format_constraint']}), {f['test']['format_constraint']} in test. "
            f"Out-of-distribution test prompts (`meta.ood`): {f['test']['ood']} (paper: 20 of 56, §4.3)."
            + release_flags_note(f))


def release_flags_note(f: dict) -> str:
    """Rows from the GAIR/lima release carry no flags: the counts above are our own rows' only."""
    rel = f.get("release_rows") or {}
    if not any(rel.values()):
        return ""
    parts = ", ".join(f"{n} {split}" for split, n in rel.items() if n)
    return (f" **Rows from the GAIR/lima release ({parts}) carry no safety, format-constraint or OOD flag**: the "
            "counts above cover our own rows only; stage 06 and the format ablation take the release rows' flags "
            "from FLAGS=file or, failing that, the judge (docs/evaluation.md).")


def render_markdown(comp: dict, quotas: list[dict], dedup: dict) -> str:
    lines = ["# Dataset composition (Table 1)", "",
             "Counts are ours with the paper's in parentheses; the paper's lengths are mean LLaMA "
             "tokens.", "", length_note(comp), "", *composition_table(comp), "", flags_note(comp), "",
             *format_table(comp), ""]
    short = [q for q in quotas if q["shortfall"]]
    lines += ["## Quotas", ""]
    lines += [f"- {q['bucket']} ({q['split']}): {q['kept']} of {q['quota']} from {q['candidates']} "
              f"candidates ({q['origin']})" + (f", **short by {q['shortfall']}**" if q["shortfall"] else "")
              for q in quotas]
    lines += ["", "## Deduplication and decontamination", "",
              f"{len(dedup['removals'])} candidates removed, {len(dedup['refills'])} refills; "
              f"threshold: exact normalised prompt, or word {dedup['ngram']}-gram Jaccard ≥ "
              f"{dedup['threshold']}. Dev and test are never cut.", ""]
    if dedup["removals"]:
        lines += ["| Removed | Bucket | Reason | Matches | Score |", "|---|---|---|---|---:|"]
        lines += [f"| {r['id']} | {r['bucket']} | {r['reason']} | {r.get('match', '')} | "
                  f"{r.get('score', '')} |" for r in dedup["removals"]]
        lines.append("")
    if dedup["refills"]:
        lines += ["Refills (candidate position in its bucket): " +
                  ", ".join(f"{r['id']} ({r['bucket']} #{r['position']})" for r in dedup["refills"]), ""]
    if dedup["kept_overlaps"]:
        lines += [f"{len(dedup['kept_overlaps'])} overlaps between rows of the GAIR/lima release kept "
                  "as released: " + ", ".join(f"{o['id']} ~ {o['match']}" for o in dedup["kept_overlaps"]), ""]
    if dedup["heldout_overlaps"]:
        lines += [f"{len(dedup['heldout_overlaps'])} dev/test overlaps (not cut): " +
                  ", ".join(f"{o['id']} ~ {o['match']}" for o in dedup["heldout_overlaps"]), ""]
    if not short:
        lines += ["Every quota is met.", ""]
    return "\n".join(lines)


def render_report_fragment(comp: dict, quotas: list[dict], dedup: dict, out_dir: str) -> str:
    """The data part of REPORT.md (docs/design.md#results): Table 1 ours vs the paper's, and what was cut."""
    short = [q for q in quotas if q["shortfall"]]
    lines = ["## Data (Table 1)", "", length_note(comp), "", *composition_table(comp), "",
             flags_note(comp), "", *format_table(comp), "",
             f"Deduplication: {len(dedup['removals'])} removed, {len(dedup['refills'])} refilled "
             f"(details in `{out_dir}/composition.md`)."]
    if short:
        lines.append("Short of quota: " + ", ".join(f"{q['bucket']} by {q['shortfall']}" for q in short) + ".")
    return "\n".join(lines) + "\n"
