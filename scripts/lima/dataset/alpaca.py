"""Training files in the Alpaca format, converted on reading into the data contract
(docs/design.md#data-contract), so the Alpaca-65B baseline of §4.1 is this repository's own recipe run on
another training file (`make train RECIPE=alpaca TRAIN_FILE=alpaca_data.json`).

The Stanford Alpaca release ships `alpaca_data.json`, one JSON array of `{"instruction", "input",
"output"}`; a JSONL file of the same objects is read too. The user turn is the instruction, plus the
input after a blank line when it is not empty; the assistant turn is the output. The instruction and
input are also kept in `meta`: the Alpaca recipe (`--recipe alpaca`) renders them in Stanford's own
prompt format (lima.chat.render_alpaca); LIMA's recipe reads the conversation in the EOT chat format.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from lima.dataset.contract import ContractError, release_id
from lima.errors import StageError
from lima.io import load_jsonl

SOURCE = "alpaca"
CONTRACT_KEYS = ("conversations", "messages")


def load_records(path: Path) -> list:
    """The file's top-level records: a JSON array, or JSONL (one JSON value a line)."""
    path = Path(path)
    if not path.is_file():
        raise StageError(path, "no such file")
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"["):
        return load_jsonl(path)
    data = path.read_bytes()
    try:
        records = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise StageError(path, f"line {line} is not UTF-8 (byte 0x{data[e.start]:02x})") from None
    except ValueError as e:
        raise StageError(path, f"not a JSON array: {e}") from None
    if not isinstance(records, list):
        raise StageError(path, "not a JSON array")
    return records


def detect_format(records: list, path: Path) -> str:
    """'contract' or 'alpaca', decided by the file's first object: one with `conversations` (or chat
    `messages`) is the data contract, one with `instruction` and `output` is Alpaca. Anything else is
    neither, and the error says what each format looks like. An empty file is left to the caller."""
    if not records:
        return "contract"
    first = next((r for r in records if isinstance(r, dict)), None)
    if first is not None and any(k in first for k in CONTRACT_KEYS):
        return "contract"
    if first is not None and "instruction" in first and "output" in first:
        return "alpaca"
    seen = f"first object's keys: {', '.join(sorted(first)) or 'none'}" if first is not None else "no JSON object"
    raise StageError(path, f"neither the data contract (rows with `conversations`) nor the Alpaca format "
                           f"(objects with `instruction`, `input`, `output`); {seen}")


def _text(row: dict, key: str, *, required: bool) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ContractError(f"no_{key}" if value is None else f"{key}_not_a_string")
    if required and not value.strip():
        raise ContractError(f"empty_{key}")
    return value.strip()


def alpaca_row(row, n: int) -> dict:
    """One Alpaca object as a contract row (the id filled later); ContractError names the reason."""
    if not isinstance(row, dict):
        raise ContractError("not_an_object")
    instruction = _text(row, "instruction", required=True)
    extra = _text(row, "input", required=False)
    output = _text(row, "output", required=True)
    user = f"{instruction}\n\n{extra}" if extra else instruction
    # The sections stay apart in meta for the Alpaca recipe's own prompt format (lima.chat.render_alpaca).
    return {"source": SOURCE, "conversations": [user, output],
            "meta": {"alpaca_row": n, "instruction": instruction, "input": extra}}


def convert_alpaca(records: list, counts: Counter) -> list[dict]:
    """Contract rows from Alpaca objects, in file order. A bad object is skipped and counted under
    `alpaca_skipped_<reason>` (the release's 52K rows are too many to stop on one); the kept ones under
    `alpaca_converted`. Every row is kept, repeats included (the set as released): a repeated prompt's
    id gets `-2`, `-3`, ... so ids stay unique, counted under `alpaca_repeated_prompt`."""
    rows, seen = [], Counter()
    for n, item in enumerate(records, 1):
        try:
            row = alpaca_row(item, n)
        except ContractError as e:
            counts[f"alpaca_skipped_{e}"] += 1
            continue
        rid = release_id(SOURCE, row["conversations"][0])
        seen[rid] += 1
        if seen[rid] > 1:
            counts["alpaca_repeated_prompt"] += 1
            rid = f"{rid}-{seen[rid]}"
        rows.append({"id": rid, **row})
        counts["alpaca_converted"] += 1
    return rows
