"""The prompt flags of §4.3 and Appendix E (`meta.safety`, `meta.format_constraint`, `meta.ood`), and
where they come from when the rows do not carry them.

Our authored rows carry their flags (true, or absent for false). Rows taken from the GAIR/lima release
(`meta.from_release`), or a file in which no row carries any flag, carry none: their absence means
"unknown", not "false", and reading it as false would report an empty safety slice as a result.
For those rows the flags come, in this order, from
1. a flag file the user gives (`--flags FILE`, `make ... FLAGS=FILE`): JSONL or CSV, id -> flags; or
2. the judge, one cached call per prompt with FLAGS_TEMPLATE (lima/eval/judge/prompts.py; docs/evaluation.md); or
3. nowhere: one WARNING line says so, and the report says which slices are therefore empty.
`resolve_flags` fills them and returns a record of where they came from, for the summary and the report.

A flag file, either form:
- JSONL: `{"id": "...", "safety": true, "ood": false}` (a flag not named stays as it was), or
  `{"id": "...", "flags": ["safety"]}` (the named flags true, the others false);
- CSV with a header: `id` and a column per flag (1/0, true/false, yes/no, empty = not given), or
  `id,flags` with the names separated by `;`, `,` or spaces.
Either may give a safety prompt's `intent`, `explicit` or `implied` (§4.3's split; the judge's
classification does not give one).
Columns or keys `prompt`, `from` and `note` are ignored (the file `resolve_flags` writes has them, so
it can be edited and given back). A line that cannot be read, a row without an id or with a value
that is not a yes/no, and an id not among the rows are counted, never guessed; a flag name we do not
know stops the stage with one line (a misspelt column would otherwise drop every label in it).
"""
from __future__ import annotations

import csv
import json
import logging
import re
import sys
from collections import Counter
from pathlib import Path

from lima.errors import StageError

log = logging.getLogger("lima.eval.preference.flags")

FLAGS = ("safety", "format_constraint", "ood")
INTENTS = ("explicit", "implied")
IGNORED = ("prompt", "from", "note")
TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f"}


def has_flags(row: dict) -> bool:
    return any(f in (row.get("meta") or {}) for f in FLAGS)


def unflagged_rows(rows: list[dict]) -> list[dict]:
    """The rows whose flags are unknown: the release's (no flag of their own), or every row of a file
    in which no row carries any flag (a bare GAIR/lima file)."""
    if not any(has_flags(r) for r in rows):
        return list(rows)
    return [r for r in rows if (r.get("meta") or {}).get("from_release") and not has_flags(r)]


def _bool(value) -> bool | None:
    """True/False from a JSON boolean, 0/1 or a yes/no word; None for an empty cell; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ValueError(f"{value!r} is not a yes/no value")


def _flags_of(record: dict, where: str) -> dict[str, bool]:
    """One row's flags: {flag: bool}; StageError for an unknown flag, ValueError for a bad value."""
    out = {}
    for key, value in record.items():
        if key == "id" or key in IGNORED:
            continue
        if key == "flags":
            names = value if isinstance(value, list) else re.split(r"[;,\s]+", str(value or "").strip())
            names = [n for n in names if n]
            if bad := [n for n in names if n not in FLAGS]:
                raise StageError(where, f"unknown flag {bad[0]!r} (known: {', '.join(FLAGS)})")
            out.update({f: f in names for f in FLAGS})
        elif key == "intent":          # §4.3: a safety prompt's malicious intent, explicit or implied
            word = str(value or "").strip().lower()
            if word and word not in INTENTS:
                raise ValueError(f"{value!r} is not explicit or implied")
            if word:
                out[key] = word
        elif key in FLAGS:
            if (b := _bool(value)) is not None:
                out[key] = b
        else:
            raise StageError(where, f"unknown flag {key!r} (known: {', '.join(FLAGS)}; ignored columns: "
                                    f"{', '.join(IGNORED)})")
    return out


def read_flag_file(path: Path, counts: Counter) -> dict[str, dict[str, bool]]:
    """id -> {flag: bool} from a JSONL or CSV flag file; unreadable lines are counted in `counts`."""
    path = Path(path)
    if not path.is_file():
        raise StageError(path, "no such flag file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise StageError(path, f"not a UTF-8 text file: {e}") from None
    records: list[tuple[int, dict | None]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "id" not in [f.strip() for f in reader.fieldnames]:
            raise StageError(path, "a CSV flag file needs a header with an `id` column")
        for i, rec in enumerate(reader, start=2):
            if None in rec or any(v is None for v in rec.values()):
                records.append((i, None))            # more or fewer cells than the header
            else:
                records.append((i, {k.strip(): v for k, v in rec.items()}))
    else:
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            records.append((i, rec if isinstance(rec, dict) else None))
    out: dict[str, dict[str, bool]] = {}
    for lineno, rec in records:
        if rec is None:
            counts["malformed_line"] += 1
            continue
        rid = rec.get("id")
        if not isinstance(rid, str) or not rid.strip():
            counts["no_id"] += 1
            continue
        try:
            flags = _flags_of(rec, f"{path}:{lineno}")
        except ValueError:
            counts["bad_value"] += 1
            continue
        out.setdefault(rid.strip(), {}).update(flags)
    return out


def classify_with_judge(client, rows: list[dict], counts: Counter) -> dict[str, dict[str, bool]]:
    """id -> flags for each row, one cached judge call per prompt (FLAGS_TEMPLATE); an answer that
    cannot be read is counted and leaves the row unflagged."""
    from lima.eval.judge.prompts import FLAGS_TEMPLATE
    from lima.eval.judge.verdicts import parse_flags

    def one(row):
        ans = client.complete("flags", FLAGS_TEMPLATE, {"task": row["conversations"][0]}, item={"id": row["id"]},
                              parse=parse_flags)
        return parse_flags(ans.text)

    out = {}
    for row, flags in zip(rows, client.map(one, rows)):
        if flags is None:
            counts["judge_unparseable"] += 1
        else:
            out[row["id"]] = flags
    return out


def resolve_flags(rows: list[dict], *, flag_file: Path | None, client=None, label: str = "prompts",
                  need: str = "the safety and out-of-distribution slices") -> tuple[dict, dict[str, str]]:
    """Fill the flags of the rows that carry none (in place): from the flag file, then the judge for
    those the file does not name; one WARNING line on stderr whenever rows carry none. Returns the
    record for the summary and the report, and id -> where its flags came from (file, judge)."""
    unknown = unflagged_rows(rows)
    counts: Counter = Counter()
    origin: dict[str, str] = {}
    record = {"n_rows": len(rows), "n_unflagged": len(unknown), "flag_file": None, "source": "rows",
              "from_file": 0, "from_judge": 0, "still_unflagged": 0, "skipped": {}, "counts": {}}
    if flag_file:
        given = read_flag_file(flag_file, counts)
        ids = {r["id"] for r in rows}
        counts[f"id_not_in_{label}"] += sum(1 for i in given if i not in ids)
        for row in rows:
            if row["id"] in given:
                row["meta"] = {**row["meta"], **given[row["id"]]}
                origin[row["id"]] = "file"
        record.update(flag_file=Path(flag_file).as_posix(), from_file=len(origin))
    still = [r for r in unknown if r["id"] not in origin]
    if still and client is not None:
        got = classify_with_judge(client, still, counts)
        for row in still:
            if row["id"] in got:
                row["meta"] = {**row["meta"], **got[row["id"]]}
                origin[row["id"]] = "judge"
        record["from_judge"] = len(got)
    record["still_unflagged"] = sum(1 for r in unknown if r["id"] not in origin)
    parts = [p for p, n in (("flag file", record["from_file"]), ("judge", record["from_judge"])) if n]
    record["source"] = " + ".join(parts) if parts else ("none" if unknown else "rows")
    if unknown:
        where = {"none": f"nothing gave them any, so {need} will be empty: give FLAGS=file (--flags FILE, "
                         "id -> flags; docs/evaluation.md) or configure a judge to classify them"}.get(
            record["source"], f"flags from the {record['source']}"
            + (f" ({record['from_file']} rows named in {flag_file})" if record["from_file"] else "")
            + (f" ({record['from_judge']} classified by the judge)" if record["from_judge"] else "")
            + (f"; {record['still_unflagged']} still without flags" if record["still_unflagged"] else ""))
        print(f"WARNING: {len(unknown)} of {len(rows)} {label} carry no safety/format_constraint/ood flag "
              f"(GAIR/lima release rows have none): {where}", file=sys.stderr)
    record["skipped"] = {k: v for k, v in sorted(counts.items()) if v}
    record["counts"] = {f: sum(bool((r.get("meta") or {}).get(f)) for r in rows) for f in FLAGS}
    return record, origin


def describe_source(record: dict | None) -> str:
    """One sentence for a report: where the flags came from and what was skipped."""
    if not record:
        return ""
    n, u, src = record["n_rows"], record["n_unflagged"], record["source"]
    c = record["counts"]
    counted = f"Flagged: safety {c['safety']}, format_constraint {c['format_constraint']}, ood {c['ood']}."
    if src == "rows":
        text = f"Flags (`meta.safety`, `meta.format_constraint`, `meta.ood`) as the {n} prompt rows carry them."
    elif src == "none":
        text = (f"**WARNING: {u} of {n} prompt rows carry no safety/format/OOD flag** (GAIR/lima release rows) and "
                "neither a flag file (FLAGS=file) nor a judge gave them any: the flagged slices are empty for lack "
                "of labels, not because no prompt is sensitive.")
    elif u == 0:
        text = (f"Flags as the {n} prompt rows carry them; the flag file `{record['flag_file']}` sets them for "
                f"{record['from_file']} rows.")
    else:
        bits = []
        if record["from_file"]:
            bits.append(f"the flag file `{record['flag_file']}` ({record['from_file']} rows)")
        if record["from_judge"]:
            bits.append(f"the judge's classification ({record['from_judge']} rows; our prompt, docs/evaluation.md, "
                        "not the authors' labels)")
        text = (f"**WARNING: {u} of {n} prompt rows carry no flags of their own** (GAIR/lima release rows); their "
                f"flags come from {' and '.join(bits)}"
                + (f"; {record['still_unflagged']} remain without flags" if record["still_unflagged"] else "") + ".")
    if record.get("skipped"):
        text += " Skipped in the flag source: " + ", ".join(f"{k} {v}" for k, v in record["skipped"].items()) + "."
    return f"{text} {counted}"


def write_flags(path: Path, rows: list[dict], origin: dict[str, str]) -> None:
    """The flags in use, one row per prompt, in the flag-file form (edit and give back with --flags)."""
    from lima.io import write_jsonl
    write_jsonl(path, [{"id": r["id"], **{f: bool((r.get("meta") or {}).get(f)) for f in FLAGS},
                        "from": origin.get(r["id"], "rows"), "prompt": r["conversations"][0][:200]} for r in rows])
