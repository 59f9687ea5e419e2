"""The stats funnel every data stage writes beside its output: read, kept, dropped by reason.

Nothing is lost silently: each row a stage reads ends up either kept or under a named drop reason,
and `<name>.stats.json` records the counts with the inputs, arguments and seed that produced them.
"""
from __future__ import annotations

import argparse
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lima.io import write_json


@dataclass
class Funnel:
    stage: str
    read: Counter = field(default_factory=Counter)
    kept: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    notes: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: "Funnel") -> None:
        self.read.update(other.read)
        self.kept.update(other.kept)
        self.dropped.update(other.dropped)

    def to_dict(self, *, args: argparse.Namespace | dict | None = None, inputs: list | None = None,
                seed: int | None = None) -> dict:
        return {
            "stage": self.stage,
            "read": dict(sorted(self.read.items())),
            "kept": dict(sorted(self.kept.items())),
            "dropped": dict(sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
            **self.notes,
            "inputs": inputs or [],
            "seed": seed,
            "args": args_record(args),
        }


def args_record(args: argparse.Namespace | dict | None) -> dict:
    """The command line as JSON, one way for every stage: Paths (alone or in lists) as strings,
    every other value as argparse parsed it (so an int stays an int)."""
    if args is None:
        return {}
    items = vars(args) if isinstance(args, argparse.Namespace) else args
    return {k: _arg_value(v) for k, v in items.items()}


def _arg_value(v: Any) -> Any:
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, (list, tuple)):
        return [_arg_value(x) for x in v]
    return v


def stats_path(out: str | os.PathLike) -> Path:
    """`data/interim/x.jsonl` -> `data/interim/x.stats.json`."""
    out = Path(out)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.stem
    return out.with_name(f"{stem}.stats.json")


def describe_inputs(paths) -> list[dict]:
    """Names and sizes of the input files, for the stats record."""
    rows = []
    for p in sorted(Path(p) for p in paths):
        rows.append({"path": p.as_posix(), "bytes": p.stat().st_size if p.is_file() else None})
    return rows


def write_stats(out: str | os.PathLike, funnel: Funnel, **kw) -> Path:
    """Write `<name>.stats.json` for `out`; call it BEFORE writing `out` itself, so a target that
    looks finished never has stale stats beside it. `args=` takes the argparse Namespace as is."""
    path = stats_path(out)
    write_json(path, funnel.to_dict(**kw))
    return path
