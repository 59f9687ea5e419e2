"""Run a training script as one torchrun worker and record that process's peak resident memory.

    torchrun --nproc_per_node 2 scripts/bench/rank_rss.py DIR scripts/05_train.py ARGS...

Writes DIR/rank<RANK>.json with `ru_maxrss` at exit (the kernel's own high-water mark of the process,
not a sampled figure), so stage 05 and its peers are measured the same way without touching their code.
"""
from __future__ import annotations

import atexit
import json
import os
import resource
import runpy
import sys
from pathlib import Path


def record(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rank = os.environ.get("RANK", "0")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # Linux reports KiB
    tmp = folder / f".rank{rank}.json.tmp"
    tmp.write_text(json.dumps({"rank": int(rank), "peak_rss_mb": round(rss_mb, 1)}))
    os.replace(tmp, folder / f"rank{rank}.json")


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: rank_rss.py DIR SCRIPT [ARGS...]")
    folder, script = Path(sys.argv[1]), Path(sys.argv[2])
    atexit.register(record, folder)
    sys.argv = [str(script), *sys.argv[3:]]
    sys.path.insert(0, str(script.resolve().parent))
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
