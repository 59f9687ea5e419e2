"""Benchmark of stage 06's judge client against a local stand-in that answers after a fixed delay.

The stand-in (127.0.0.1, an OpenAI-style `/chat/completions`) sleeps --delay seconds per request, as a
remote judge's latency would, then gives a pairwise verdict. Stage 06's own path judges our responses
against one baseline file (`lima.eval.preference.evaluate.judge_baseline`, with the client `JudgeConfig` builds at
its defaults: 4 requests in flight), once in the paper's single presentation (§4.1) and once in both
orders; the floor, measured in the same run, is the same client one request at a time. A first small
call, not timed, pays the one-off imports (the per-baseline statistics load scipy). Reported:
judged pairs per second, the ratio to the floor, the efficiency against the ideal
(concurrency / delay requests per second), and the wall time a paper-scale run (300 prompts x 5
baselines) would take at this delay, from the measured rate. Real judges answer in seconds, not
300 ms: the time then scales with their latency over the concurrency (JUDGE_CONCURRENCY raises it).

    python scripts/bench/judge.py --out results/bench/judge.json
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))

from lima.eval.preference.evaluate import judge_baseline  # noqa: E402
from lima.eval.judge.config import JudgeConfig  # noqa: E402
from lima.io import write_json, write_jsonl  # noqa: E402

PAPER_PROMPTS, PAPER_BASELINES = 300, 5          # §4.1: the 300-prompt test set, five baselines


class SlowJudge:
    """A chat-completions server answering every request after `delay` seconds, on its own threads."""

    def __init__(self, delay: float):
        self.delay, self.count, self.lock = delay, 0, threading.Lock()
        judge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"          # keep-alive, for a client that reuses connections

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(judge.delay)
                with judge.lock:
                    judge.count += 1
                body = json.dumps({"choices": [{"message": {"role": "assistant",
                                                            "content": "Answer A is significantly better."},
                                                "finish_reason": "stop"}],
                                   "usage": {"completion_tokens": 6}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def inputs(folder: Path, n: int, tag: str) -> tuple[list[dict], Path]:
    """n of our generations and a baseline file with a response for each; `tag` keeps every run's
    requests distinct, so no run is served from another's cache."""
    gens = [{"id": f"bench/{tag}/{i:03d}", "sample_idx": 0, "prompt": f"Question {i}: how do I {tag} this?",
             "response": f"Our answer {i}, step by step."} for i in range(n)]
    base = folder / f"baseline_{tag}.jsonl"
    write_jsonl(base, [{"id": g["id"], "response": f"Their answer {i}."} for i, g in enumerate(gens)])
    return gens, base


def timed(judge: SlowJudge, folder: Path, n: int, tag: str, *, both_orders: bool, concurrency: int | None) -> dict:
    gens, base = inputs(folder, n, tag)
    config = JudgeConfig(url=judge.url, model="stand-in", **({"concurrency": concurrency} if concurrency else {}))
    client = config.client(folder / f"cache_{tag}.jsonl")
    before = judge.count
    t0 = time.perf_counter()
    items, summary = judge_baseline(client, gens, base.name, base, both_orders=both_orders, seed=0)
    secs = time.perf_counter() - t0
    judged = sum(1 for i in items if i["verdict"] is not None)
    return {"pairs": n, "judged": judged, "requests": judge.count - before, "seconds": round(secs, 3),
            "pairs_per_s": round(n / secs, 2), "requests_per_s": round((judge.count - before) / secs, 2),
            "concurrency": client.concurrency}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--delay", type=float, default=0.3, help="seconds the stand-in takes per answer")
    p.add_argument("--pairs", type=int, default=60, help="pairs judged per concurrent run")
    p.add_argument("--floor-pairs", type=int, default=12, help="pairs judged one request at a time")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp, SlowJudge(args.delay) as judge:
        tmp = Path(tmp)
        timed(judge, tmp, 2, "warm-up", both_orders=False, concurrency=None)     # one-off imports (scipy)
        floor = timed(judge, tmp, args.floor_pairs, "floor", both_orders=False, concurrency=1)
        single = timed(judge, tmp, args.pairs, "single", both_orders=False, concurrency=None)
        both = timed(judge, tmp, args.pairs, "both", both_orders=True, concurrency=None)
    ideal = single["concurrency"] / args.delay                       # requests per second
    paper_pairs = PAPER_PROMPTS * PAPER_BASELINES
    result = {
        "benchmark": "stage 06 judge client vs a stand-in answering after a fixed delay",
        "delay_s": args.delay, "one_at_a_time": floor, "default_concurrency_single": single,
        "default_concurrency_both_orders": both,
        "ratio_vs_one_at_a_time": round(single["pairs_per_s"] / floor["pairs_per_s"], 2),
        "efficiency_vs_ideal": round(single["requests_per_s"] / ideal, 3),
        "paper_scale": {"prompts": PAPER_PROMPTS, "baselines": PAPER_BASELINES, "pairs": paper_pairs,
                        "single_order_minutes": round(paper_pairs / single["pairs_per_s"] / 60, 1),
                        "both_orders_minutes": round(paper_pairs / both["pairs_per_s"] / 60, 1),
                        "at_delay_s": args.delay,
                        # projected, not measured: the same efficiency at a remote judge's 10 s per answer
                        "single_order_minutes_at_10s_per_answer": round(
                            paper_pairs * 10.0 / (single["concurrency"] * single["requests_per_s"] / ideal) / 60, 1)},
    }
    write_json(args.out, result)
    print(f"judge bench: {single['pairs_per_s']} pairs/s at concurrency {single['concurrency']} "
          f"({result['ratio_vs_one_at_a_time']}x one at a time, {result['efficiency_vs_ideal']:.0%} of ideal); "
          f"300 x 5 at {args.delay}s: {result['paper_scale']['single_order_minutes']} min single, "
          f"{result['paper_scale']['both_orders_minutes']} min both orders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
