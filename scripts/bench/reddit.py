"""Benchmark of stage 03 (Reddit): stage throughput against `zstd -dc --long=31 > /dev/null` (the
floor: nothing can read a dump faster than it decompresses) on generated Pushshift-like dumps of
>= 500 MB decompressed, compressed with `--long=31` through a pipe (so the 2 GiB window is declared),
plus the stage's peak RSS. Goals: ratio >= 0.5, peak RSS <= 2.5 GB whatever the size.

Two scenarios, each measured in the same run as its floor:
  monthly       RS_/RC_ files of all of Reddit, 1-2 % of the rows ours (the subreddit prefilter)
  per_subreddit WritingPrompts_/AskReddit_ files, every row ours (score and link_id prefilters)
The inputs live in a temp folder that is deleted afterwards. The stage decodes in a child process
(lima.sources.reddit.decode.DumpReader), so its wall time gains from a second free core; `stage_cpu_seconds`
(both processes) and the load average are reported because the machine may be shared, and so is
the same stage decoding in its own process (`--inline-decompression`, `inline_ratio_vs_zstd`): the
child process is worth its complexity only while it is clearly faster than that. The peak RSS
is the largest of the stage's processes (wait4); the two together hold at most the sum of both.
The peer, timed in the same loop: the reader the Pushshift community usually writes for these dumps
(python-zstandard's stream_reader, 2 GiB window, json.loads line by line in one process;
scripts/bench/pushshift_reader.py), `ratio_vs_community_reader` = its seconds / the stage's.
The design check, also in the same loop: the stage with its forked ring decoder swapped for a plain
`zstd -dc --long=31 FILE |` pipe per file (scripts/bench/pipe_stage.py; outputs must be
byte-identical), `ratio_vs_pipe` = the pipe-fed stage's seconds / the stage's (the ring's code must
earn >= 1.3x on the paper profile's per-subreddit files to stay).

    python scripts/bench/reddit.py --out results/bench/reddit.json [--mb 520]
"""
import argparse
import compileall
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--out", type=Path, required=True, help="results JSON")
parser.add_argument("--mb", type=int, default=520, help="decompressed MB per scenario (the goals ask >= 500)")
parser.add_argument("--repeat", type=int, default=5, help="timed runs of each command (best is kept)")
parser.add_argument("--tmp", default=None, help="folder for the generated dumps (default: system temp)")

WORDS = ("the of and to in is you that it he was for on are as with his they at be this have from or one "
         "had by word but not what all were we when your can said there use an each which she do how their "
         "if will up other about out many then them these so some her would make like him into time has look "
         "two more write go see number no way could people my than first water been call who oil its now find").split()
OTHER_SUBS = ["funny", "pics", "gaming", "worldnews", "todayilearned", "movies", "news", "science", "aww", "music"]


def b36(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n, 36)
        s = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + s
    return s


def text(rng, n):
    return " ".join(rng.choices(WORDS, k=n))


def submission(rng, pid, sub, title, score, t):
    return json.dumps({
        "id": pid, "name": f"t3_{pid}", "title": title, "selftext": "", "author": f"user{rng.randrange(10**6)}",
        "author_fullname": f"t2_{rng.randrange(10**8):x}", "subreddit": sub, "subreddit_id": "t5_2qh1i",
        "score": score, "ups": score, "downs": 0, "upvote_ratio": 0.93, "num_comments": rng.randrange(2000),
        "created_utc": t, "over_18": False, "is_self": True, "stickied": False, "locked": False,
        "spoiler": False, "distinguished": None, "removed_by_category": None, "link_flair_text": None,
        "domain": f"self.{sub}", "permalink": f"/r/{sub}/comments/{pid}/x/", "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/x/",
        "all_awardings": [], "gildings": {}, "media": None, "is_video": False, "retrieved_on": t + 60,
        "whitelist_status": "all_ads", "thumbnail": "self", "total_awards_received": 0}, separators=(",", ":"))


def comment(rng, cid, pid, sub, body, score, t):
    return json.dumps({
        "id": cid, "link_id": f"t3_{pid}", "parent_id": f"t3_{pid}" if rng.random() < 0.4 else f"t1_{cid}x",
        "body": body, "author": f"user{rng.randrange(10**6)}", "subreddit": sub, "subreddit_id": "t5_2qh1i",
        "score": score, "created_utc": t, "stickied": False, "distinguished": None, "controversiality": 0,
        "gilded": 0, "edited": False, "is_submitter": False, "collapsed": False, "retrieved_on": t + 60,
        "author_flair_text": None, "permalink": f"/r/{sub}/comments/{pid}/x/{cid}/"}, separators=(",", ":"))


def generate(folder: Path, scenario: str, mb: int, seed: int = 0) -> dict:
    """Write the scenario's two .zst files through `zstd --long=31` (stdin: size unknown)."""
    rng = random.Random(seed)
    names = {"monthly": ("RS_2031-01.zst", "RC_2031-01.zst"),
             "per_subreddit": ("WritingPrompts_submissions.zst", "WritingPrompts_comments.zst")}[scenario]
    target_s, target_c = mb * 2 // 5 * 10**6, mb * 3 // 5 * 10**6   # 40 % submissions, 60 % comments
    wp_ids, t, n_id, sizes, lines = [], 1924992000, 36**6, {}, 0
    stories = [text(rng, rng.randrange(100, 400)) for _ in range(50)]
    chatter = [text(rng, rng.randrange(5, 60)) for _ in range(200)]
    for name, target in zip(names, (target_s, target_c)):
        proc = subprocess.Popen(["zstd", "-q", "-3", "--long=31", "-c"], stdin=subprocess.PIPE,
                                stdout=open(folder / name, "wb"))
        written, batch = 0, []
        while written < target:
            n_id += 1
            t += 1
            if name.endswith("submissions.zst") or name.startswith("RS_"):
                roll = rng.random()
                sub = ("WritingPrompts" if scenario == "per_subreddit" or roll < 0.01 else
                       "AskReddit" if roll < 0.02 else rng.choice(OTHER_SUBS))
                pid = b36(n_id)
                if sub == "WritingPrompts":
                    wp_ids.append(pid)
                line = submission(rng, pid, sub, f"[WP] {text(rng, rng.randrange(8, 30))}",
                                  int(rng.paretovariate(1.1)), t)
            else:
                on_wp = scenario == "per_subreddit" or rng.random() < 0.02
                pid = rng.choice(wp_ids) if on_wp else b36(rng.randrange(36**6))
                body = rng.choice(stories) if rng.random() < 0.3 else rng.choice(chatter)
                line = comment(rng, b36(n_id), pid, "WritingPrompts" if on_wp else rng.choice(OTHER_SUBS), body,
                               int(rng.paretovariate(1.3)), t)
            batch.append(line)
            written += len(line) + 1
            if len(batch) >= 2000:
                proc.stdin.write(("\n".join(batch) + "\n").encode())
                lines += len(batch)
                batch = []
        if batch:
            proc.stdin.write(("\n".join(batch) + "\n").encode())
            lines += len(batch)
        proc.stdin.close()
        if proc.wait():
            raise SystemExit(f"zstd failed writing {name}")
        sizes[name] = {"decompressed_bytes": written, "compressed_bytes": (folder / name).stat().st_size}
    return {"files": sizes, "lines": lines,
            "decompressed_bytes": sum(v["decompressed_bytes"] for v in sizes.values())}


def timed(cmd, **kw):
    """(seconds, peak RSS in bytes, CPU seconds) of one child process (with the processes it waited for)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}")
    return seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def community_reader(files) -> list[str]:
    """The peer's command: every line json.loads-ed, the WritingPrompts rows counted."""
    return [sys.executable, str(ROOT / "scripts" / "bench" / "pushshift_reader.py"), *map(str, files)]


def run_scenario(folder: Path, scenario: str, mb: int, repeat: int) -> dict:
    folder.mkdir()
    t0 = time.perf_counter()
    info = generate(folder, scenario, mb)
    gen_s = time.perf_counter() - t0
    files = sorted(folder / n for n in info["files"])
    out = folder / "out"
    cmd = [sys.executable, str(ROOT / "scripts" / "03_reddit.py"), "--dumps", str(folder),
           "--wp-out", str(out / "writingprompts.jsonl"), "--ask-out", str(out / "askreddit.jsonl"),
           "--wp-quota", "150", "--ask-quota", "0" if scenario == "per_subreddit" else "70"]
    pipe_out = folder / "out-pipe"
    pipe_cmd = [sys.executable, str(ROOT / "scripts" / "bench" / "pipe_stage.py"), *cmd[2:]]
    pipe_cmd = [str(pipe_out / Path(a).name) if a.startswith(str(out)) else a for a in pipe_cmd]
    timed(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)          # warm-up: page cache
    floors, runs, inline, peer, pipe = [], [], [], [], []
    for _ in range(repeat):                     # interleaved, so all see the same machine
        floors.append(timed(["zstd", "-dc", "--long=31", *files], stdout=subprocess.DEVNULL)[0])
        runs.append(timed(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        inline.append(timed(cmd + ["--inline-decompression"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)[0])
        peer.append(timed(community_reader(files), stdout=subprocess.DEVNULL))
        pipe.append(timed(pipe_cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)[0])
    for name in ("writingprompts.jsonl", "askreddit.jsonl"):
        if (out / name).read_bytes() != (pipe_out / name).read_bytes():
            raise SystemExit(f"the pipe-fed stage wrote a different {name}: the comparison is void")
    floor = min(floors)
    stage_s, rss, cpu = min(r[0] for r in runs), max(r[1] for r in runs), min(r[2] for r in runs)
    stats = json.loads((out / "writingprompts.stats.json").read_text())
    mbytes = info["decompressed_bytes"] / 1e6
    return {
        "input": info, "generate_seconds": round(gen_s, 1),
        "zstd_seconds": round(floor, 3), "zstd_MB_per_s": round(mbytes / floor, 1),
        "stage_seconds": round(stage_s, 3), "stage_MB_per_s": round(mbytes / stage_s, 1),
        "stage_cpu_seconds": round(cpu, 3),
        "ratio_vs_zstd": round(floor / stage_s, 3),
        "inline_seconds": round(min(inline), 3), "inline_ratio_vs_zstd": round(floor / min(inline), 3),
        "community_reader_seconds": round(min(r[0] for r in peer), 3),
        "community_reader_MB_per_s": round(mbytes / min(r[0] for r in peer), 1),
        "community_reader_peak_rss_MB": round(max(r[1] for r in peer) / 2**20, 1),
        "ratio_vs_community_reader": round(min(r[0] for r in peer) / stage_s, 3),
        "pipe_seconds": round(min(pipe), 3), "ratio_vs_pipe": round(min(pipe) / stage_s, 3),
        "peak_rss_MB": round(rss / 2**20, 1),
        "pairs": stats["kept"].get("pairs", 0),
        "lines_parsed": sum(d["parsed"] for d in stats["dumps"].values()),
    }


def main():
    args = parser.parse_args()
    # Compiled once, as an installed package would be: with PYTHONDONTWRITEBYTECODE set, every
    # run of the stage would otherwise compile the lima package again.
    compileall.compile_dir(str(ROOT / "scripts" / "lima"), quiet=1)
    if not shutil.which("zstd"):
        raise SystemExit("error: the zstd command is needed for the baseline (apt-get install zstd)")
    load = [round(x, 2) for x in os.getloadavg()]
    tmp = Path(tempfile.mkdtemp(prefix="lima-bench-reddit-", dir=args.tmp))
    try:
        results = {name: run_scenario(tmp / name, name, args.mb, args.repeat) for name in ("monthly", "per_subreddit")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = {
        "stage": "reddit",
        "baseline": "zstd -dc --long=31 FILES > /dev/null (same inputs, same run)",
        "goals": {"ratio_vs_zstd": ">= 0.5", "peak_rss_MB": "<= 2560"},
        "scenarios": results,
        "goals_met": all(r["ratio_vs_zstd"] >= 0.5 and r["peak_rss_MB"] <= 2560 for r in results.values()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": load,
                    "zstd": subprocess.run(["zstd", "--version"], capture_output=True, text=True).stdout.strip()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, r in results.items():
        print(f"reddit bench {name}: {r['input']['decompressed_bytes'] / 1e6:.0f} MB, stage {r['stage_MB_per_s']} MB/s "
              f"vs zstd {r['zstd_MB_per_s']} MB/s = {r['ratio_vs_zstd']}x (decoding inline: "
              f"{r['inline_ratio_vs_zstd']}x), peak RSS {r['peak_rss_MB']} MB; community reader "
              f"{r['community_reader_MB_per_s']} MB/s (stage {r['ratio_vs_community_reader']}x it); ring "
              f"{r['ratio_vs_pipe']}x the stage fed by a zstd pipe, "
              f"CPU {r['stage_cpu_seconds']} s (load average {load[0]})")


if __name__ == "__main__":
    main()
