"""Benchmark of stage 01 against its floor, both measured in the same run (`make bench`).

Generates synthetic Posts.xml files in the real schema (50 MB and >= 200 MB) that hold the same
qualifying questions; the extra size is filler (closed or body-dependent questions and their answers,
low-scoring answers). Reports
  - throughput: the stage on the large file vs a bare `lxml.etree.iterparse` loop that only clears
    rows (goal >= 0.5x),
  - peak RSS of the stage at both sizes (goal: ratio <= 1.2).
Each measurement runs in its own process so peak RSS is that run's alone.

    python scripts/bench/stackexchange.py --out results/bench/stackexchange.json
"""
from __future__ import annotations

import argparse
import html
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))

from lima.io import write_json  # noqa: E402

WORDS = ("salt water dough flour oven heat butter sugar yeast proof bake crust crumb steam knead "
         "gluten starch rest fold shape score rise cool slice store fresh stale").split()
QUALIFYING = 300


def _para(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words)).capitalize() + "."


def _row(**attrs) -> str:
    return "  <row " + " ".join(f'{k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items()) + " />\n"


def make_posts(path: Path, target_bytes: int, seed: int = 0) -> dict:
    """Write a Posts.xml of about `target_bytes` with QUALIFYING qualifying questions."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    answer_body = lambda: "".join(f"<p>{_para(rng, 25)}</p>\n" for _ in range(12)) + \
        "<pre><code>bake(loaf, minutes=40)\n</code></pre>\n<ul><li>flour</li><li>water</li></ul>"
    n = 0
    with open(path, "w", encoding="utf-8", newline="\r\n") as f:
        f.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\n<!-- licensed CC BY-SA 4.0 -->\n<posts>\n')
        pid = 1
        for i in range(QUALIFYING):
            f.write(_row(Id=pid, PostTypeId=1, Score=1000 - i, Title=f"Why does bread number {i} go stale so fast?",
                         Body=f"<p>{_para(rng, 40)}</p>", Tags="|baking|bread|", AnswerCount=2,
                         CreationDate="2015-01-01T00:00:00.000", ContentLicense="CC BY-SA 4.0"))
            f.write(_row(Id=pid + 1, PostTypeId=2, ParentId=pid, Score=50, Body=answer_body(),
                         CreationDate="2015-01-02T00:00:00.000", ContentLicense="CC BY-SA 4.0"))
            f.write(_row(Id=pid + 2, PostTypeId=2, ParentId=pid, Score=3, Body=answer_body()))
            pid += 3
        while f.tell() < target_bytes:
            closed = rng.random() < 0.5
            extra = {"ClosedDate": "2016-01-01T00:00:00.000"} if closed else {}
            title = "Why does bread go stale so fast?" if closed else f"Problem with my dough {pid}"
            f.write(_row(Id=pid, PostTypeId=1, Score=rng.randint(0, 500), Title=title,
                         Body=f"<p>{_para(rng, 60)}</p>", Tags="&lt;baking&gt;", AnswerCount=2, **extra))
            for k in (1, 2):
                f.write(_row(Id=pid + k, PostTypeId=2, ParentId=pid, Score=rng.randint(0, 80), Body=answer_body()))
            f.write(_row(Id=pid + 3, PostTypeId=2, ParentId=rng.randint(1, QUALIFYING) * 3 - 2,
                         Score=rng.randint(0, 9), Body=answer_body()))
            pid += 4
            n += 1
        f.write("</posts>")
    return {"bytes": path.stat().st_size, "rows_approx": pid}


BARE_LOOP = """
import sys
from lxml import etree
n = 0
for _, el in etree.iterparse(sys.argv[1], events=("end",), tag="row"):
    n += 1
    el.clear()
    while el.getprevious() is not None:
        del el.getparent()[0]
print(n)
"""


def measure(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd` from a fresh Python so RUSAGE_CHILDREN holds that child alone."""
    probe = ("import resource,subprocess,sys,time,json;t=time.perf_counter();"
             "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
             "w=time.perf_counter()-t;"
             "print(json.dumps([p.returncode,w,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024,p.stderr[-2000:]]))")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True)
    code, wall, rss, err = json.loads(out.stdout)
    if code != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{err}")
    return wall, rss


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--small-mb", type=int, default=50)
    p.add_argument("--large-mb", type=int, default=200)
    args = p.parse_args()
    stage = [sys.executable, str(SCRIPTS / "01_stackexchange.py")]
    result = {"qualifying_questions": QUALIFYING, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="lima-bench-se-") as tmp:
        tmp = Path(tmp)
        for label, mb in (("small", args.small_mb), ("large", args.large_mb)):
            dumps = tmp / label
            info = make_posts(dumps / "cooking.stackexchange.com" / "Posts.xml", mb * 1_000_000)
            posts = dumps / "cooking.stackexchange.com" / "Posts.xml"
            out = tmp / f"{label}.jsonl"
            wall, rss = measure([*stage, "--dumps", str(dumps), "--out", str(out), "--other-quota", "200",
                                 "--stem-quota", "0"])
            kept = json.loads(out.with_name(f"{label}.stats.json").read_text())["kept"]["other"]
            entry = {"bytes": info["bytes"], "stage_seconds": round(wall, 2), "stage_mb_per_s": round(info["bytes"] / 1e6 / wall, 1),
                     "stage_peak_rss_mb": round(rss, 1), "kept": kept}
            if label == "large":
                bare_wall, bare_rss = measure([sys.executable, "-c", BARE_LOOP, str(posts)])
                entry.update({"bare_iterparse_seconds": round(bare_wall, 2),
                              "bare_iterparse_mb_per_s": round(info["bytes"] / 1e6 / bare_wall, 1),
                              "bare_iterparse_peak_rss_mb": round(bare_rss, 1)})
            result["sizes"][label] = entry
            print(f"{label}: {entry}", file=sys.stderr)
    large, small = result["sizes"]["large"], result["sizes"]["small"]
    result["throughput_ratio_vs_bare_iterparse"] = round(large["stage_mb_per_s"] / large["bare_iterparse_mb_per_s"], 3)
    result["peak_rss_ratio_large_vs_small"] = round(large["stage_peak_rss_mb"] / small["stage_peak_rss_mb"], 3)
    result["goals"] = {"throughput_ratio_min": 0.5, "peak_rss_ratio_max": 1.2}
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("throughput_ratio_vs_bare_iterparse", "peak_rss_ratio_large_vs_small")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
