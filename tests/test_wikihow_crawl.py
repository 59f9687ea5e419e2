"""The wikiHow crawler against a stand-in site on 127.0.0.1, and the stage end to end.

The server serves the sample cache's pages plus misbehaving ones (429 with Retry-After, 500 twice,
a page that never answers, a truncated body, a path robots.txt disallows) and logs every request,
so the tests can assert exactly what a polite crawler asks for, in which order and how fast.

Run: .venv/bin/python -m pytest -q tests/test_wikihow_crawl.py
"""
import contextlib
import json
import re
import shutil
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT, run_script
from lima.errors import StageError
from lima.sources.wikihow.fetch import Fetcher, load_index, retry_after

SAMPLE = ROOT / "data" / "sample" / "wikihow"
UA = "lima-repro-tests/1.0 (tests@example.org)"
DELAY, BACKOFF, TIMEOUT, TRIES = 0.05, 0.05, 0.5, 3
SITE_CATEGORIES = "Health,Cars & Other Vehicles,Youth"
ROBOTS = b"User-agent: *\nDisallow: /Special:\nDisallow: /Fall-Asleep-Faster\n"


def sample_pages() -> dict[str, tuple[bytes, str]]:
    """key -> (body, content type) for every page the sample cache holds."""
    pages = {}
    for entry in load_index(SAMPLE).values():
        if entry["status"] == 200 and entry["key"] != "/robots.txt":
            pages[entry["key"]] = ((SAMPLE / entry["file"]).read_bytes(), entry["content_type"])
    return pages


@contextlib.contextmanager
def serve(pages, robots=ROBOTS, behaviour=None):
    """A stand-in site. `behaviour[key]` is a list of what to do on the 1st, 2nd, ... request of
    that key ("ok", ("status", code, headers), "hang", "truncate"); past its end, "ok"."""
    log, lock, release = [], threading.Lock(), threading.Event()
    behaviour = {k: list(v) for k, v in (behaviour or {}).items()}
    seen = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                log.append((self.path, time.monotonic()))
                n = seen[self.path]
                seen[self.path] += 1
            plan = behaviour.get(self.path, [])
            action = plan[n] if n < len(plan) else "ok"
            if self.path == "/robots.txt":
                return self._send(200, robots, "text/plain")
            if action == "hang":
                release.wait(5)
                return
            if isinstance(action, tuple):
                _, code, headers = action
                return self._send(code, b"busy", "text/plain", headers)
            if self.path not in pages:
                return self._send(404, b"not found", "text/plain")
            body, ctype = pages[self.path]
            if action == "truncate":
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 3])
                self.close_connection = True
                return
            self._send(200, body, ctype)

        def _send(self, code, body, ctype, headers=None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def crawl_args(base, cache, out):
    return ["--cache", cache, "--out", out / "wikihow.jsonl", "--pool-out", out / "pool.jsonl",
            "--quota", 3, "--pool-quota", 50, "--categories", SITE_CATEGORIES, "--base-url", base,
            "--user-agent", UA, "--delay", DELAY, "--backoff", BACKOFF, "--timeout", TIMEOUT,
            "--tries", TRIES]


BEHAVIOUR = {
    "/Treat-a-Minor-Burn": [("status", 429, {"Retry-After": "1"})],
    "/Check-Tire-Pressure": [("status", 500, {}), ("status", 500, {})],
    "/Wash-a-Car": ["hang"] * 10,
    "/Jump-Start-a-Car": ["truncate"],
}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl of the stand-in site, then a second run on the same cache; both logs kept."""
    tmp = tmp_path_factory.mktemp("wh_crawl")
    pages = sample_pages()
    pages.pop("/Wash-a-Car", None)
    with serve(pages, behaviour=BEHAVIOUR) as (base, log):
        t0 = time.monotonic()
        run_script("02_wikihow.py", *crawl_args(base, tmp / "cache", tmp / "run1"))
        elapsed = time.monotonic() - t0
        first = list(log)
        run_script("02_wikihow.py", *crawl_args(base, tmp / "cache", tmp / "run2"))
        second = log[len(first):]
    return {"tmp": tmp, "log": first, "second": second, "elapsed": elapsed}


def paths(log):
    return [p for p, _ in log]


def test_crawl_requests_exactly_the_needed_pages_with_retries(crawled):
    expected = Counter({
        "/robots.txt": 1,
        "/Category:Health": 1, "/Category:Cars-%26-Other-Vehicles": 1, "/Category:Youth": 1,
        "/Treat-a-Minor-Burn": 2,        # 429, then success
        "/Check-Tire-Pressure": 3,       # 500, 500, success
        "/Wash-a-Car": TRIES,            # never answers: given up after --tries
        "/Jump-Start-a-Car": 2,          # truncated body, then whole
        "/Stretch-Your-Hamstrings": 1, "/Fix-a-Flat-Bike-Tire": 1,
    })
    assert Counter(paths(crawled["log"])) == expected


def test_crawl_never_requests_a_robots_disallowed_path(crawled):
    assert paths(crawled["log"])[0] == "/robots.txt"
    assert "/Fall-Asleep-Faster" not in paths(crawled["log"])
    stats = json.loads((crawled["tmp"] / "run1" / "wikihow.stats.json").read_text())
    assert stats["dropped"]["robots_disallowed"] == 1


def test_crawl_keeps_the_delay_between_every_two_requests(crawled):
    times = [t for _, t in crawled["log"]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= DELAY * 0.9, gaps


def test_crawl_honours_retry_after_and_backs_off_exponentially(crawled):
    log = crawled["log"]
    burn = [t for p, t in log if p == "/Treat-a-Minor-Burn"]
    assert burn[1] - burn[0] >= 1.0  # Retry-After: 1
    tire = [i for i, (p, _) in enumerate(log) if p == "/Check-Tire-Pressure"]
    assert tire == list(range(tire[0], tire[0] + 3)), "retries of one page run back to back"
    t = [log[i][1] for i in tire]
    assert t[1] - t[0] >= BACKOFF * 0.9 and t[2] - t[1] >= 2 * BACKOFF * 0.9


def test_crawl_discovers_a_category_before_drawing_from_it(crawled):
    order = paths(crawled["log"])
    first = {p: order.index(p) for p in set(order)}
    for article in ("/Treat-a-Minor-Burn", "/Stretch-Your-Hamstrings"):
        assert first["/Category:Health"] < first[article]
    for article in ("/Check-Tire-Pressure", "/Jump-Start-a-Car", "/Fix-a-Flat-Bike-Tire"):
        assert first["/Category:Cars-%26-Other-Vehicles"] < first[article]


def test_crawl_output_follows_the_draw_order_and_parses(crawled):
    run = crawled["tmp"] / "run1"
    pool = [json.loads(line) for line in (run / "pool.jsonl").open()]
    out = [json.loads(line) for line in (run / "wikihow.jsonl").open()]
    ids = [r["id"] for r in pool]
    assert sorted(ids) == sorted(f"wikihow/{s}" for s in ("Treat-a-Minor-Burn", "Stretch-Your-Hamstrings",
                                                        "Check-Tire-Pressure", "Jump-Start-a-Car",
                                                        "Fix-a-Flat-Bike-Tire"))
    order = [p for p in dict.fromkeys(paths(crawled["log"])) if "wikihow/" + p[1:] in ids]
    assert ids == ["wikihow" + p for p in order], "pool rows are in the order the articles were drawn"
    assert out == pool[:3]
    for r in pool:
        assert r["conversations"][0].startswith("How to ") and r["conversations"][0].endswith("?")
        assert r["meta"]["url"].startswith("http://127.0.0.1:") and r["meta"]["category"] in SITE_CATEGORIES
        assert "\n1. " in "\n" + r["conversations"][1]
    stats = json.loads((run / "wikihow.stats.json").read_text())
    assert stats["dropped"]["fetch_gave_up"] == 1 and stats["dropped"]["empty_category"] == 1
    assert stats["crawl"]["gave_up"] == 1 and stats["crawl"]["requests"] == len(crawled["log"])


def test_crawl_cache_records_every_outcome_and_a_second_run_makes_no_request(crawled):
    tmp = crawled["tmp"]
    index = load_index(tmp / "cache")
    assert index["/Wash-a-Car"]["status"] == "gave_up" and index["/Wash-a-Car"]["file"] is None
    assert index["/Treat-a-Minor-Burn"]["status"] == 200
    assert (tmp / "cache" / index["/Treat-a-Minor-Burn"]["file"]).read_bytes() == \
        sample_pages()["/Treat-a-Minor-Burn"][0]
    assert {"url", "category", "status", "fetched_at"} <= set(index["/Check-Tire-Pressure"])
    assert index["/Check-Tire-Pressure"]["category"] == "Cars & Other Vehicles"
    assert crawled["second"] == []
    assert (tmp / "run2" / "wikihow.jsonl").read_bytes() == (tmp / "run1" / "wikihow.jsonl").read_bytes()


def test_offline_run_on_the_crawled_cache_gives_the_same_output(crawled, tmp_path):
    tmp = crawled["tmp"]
    args = crawl_args("http://127.0.0.1:9", tmp / "cache", tmp_path)
    run_script("02_wikihow.py", *args, "--offline")
    def unport(path):
        return re.sub(r"127\.0\.0\.1:\d+", "HOST", path.read_text())
    assert unport(tmp_path / "pool.jsonl") == unport(tmp / "run1" / "pool.jsonl")


def test_robots_crawl_delay_overrides_a_shorter_delay(tmp_path):
    pages = sample_pages()
    with serve(pages, robots=b"User-agent: *\nCrawl-delay: 1\n") as (base, log):
        f = Fetcher(tmp_path, base_url=base, user_agent=UA, delay=DELAY, timeout=TIMEOUT)
        assert f.get("/Make-Pancakes").ok and f.get("/Make-Guacamole").ok
        f.close()
    assert f.crawl_delay == 1.0
    assert [p for p, _ in log] == ["/robots.txt", "/Make-Pancakes", "/Make-Guacamole"]
    assert log[2][1] - log[1][1] >= 1.0


def test_a_missing_page_is_recorded_once_and_not_asked_again(tmp_path):
    with serve({}) as (base, log):
        f = Fetcher(tmp_path, base_url=base, user_agent=UA, delay=0, timeout=TIMEOUT)
        assert f.get("/No-Such-Article").status == 404
        assert Fetcher(tmp_path, base_url=base, user_agent=UA, delay=0).get("/No-Such-Article").status == 404
    assert [p for p, _ in log] == ["/robots.txt", "/No-Such-Article"]


def test_a_torn_index_line_survives_the_next_crawl_and_the_run_after(tmp_path):
    """A kill mid-append leaves a torn index line; the next crawl appends on a new line and a third
    run reads the index (the fragment skipped) instead of stopping with "not a cache index"."""
    with serve({}) as (base, log):
        Fetcher(tmp_path, base_url=base, user_agent=UA, delay=0, timeout=TIMEOUT).get("/No-Such-Article")
        with open(tmp_path / "index.jsonl", "a") as f:
            f.write('{"key": "/Torn", "url": "htt')
        Fetcher(tmp_path, base_url=base, user_agent=UA, delay=0, timeout=TIMEOUT).get("/Another-Missing")
        index = load_index(tmp_path)
    assert {"/No-Such-Article", "/Another-Missing"} <= set(index) and "/Torn" not in index


def test_offline_cache_miss_is_one_clear_error(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "cache")
    f = Fetcher(tmp_path / "cache", offline=True)
    assert f.get("/Make-Pancakes").ok
    with pytest.raises(StageError, match=r"/Make-Sourdough is not in the cache \(--offline\)"):
        f.get("/Make-Sourdough")


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({}) is None
    assert 0 <= retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) < 1  # in the past


# ---- the stage on the sample cache (what `make data-wikihow` runs) --------------------------

SAMPLE_CATEGORIES = ("Food and Entertaining,Home and Garden,Computers and Electronics,Pets and Animals,"
                     "Health,Cars & Other Vehicles,Youth")


def run_sample(out: Path, *extra):
    run_script("02_wikihow.py", "--cache", SAMPLE, "--offline", "--quota", 12, "--categories",
               SAMPLE_CATEGORIES, "--out", out / "wikihow.jsonl", "--pool-out", out / "pools" / "wikihow.jsonl",
               *extra)
    return [json.loads(line) for line in (out / "wikihow.jsonl").open()], \
        json.loads((out / "wikihow.stats.json").read_text())


def test_sample_stage_is_deterministic_and_counts_every_bad_page(tmp_path):
    rows, stats = run_sample(tmp_path / "a")
    again, _ = run_sample(tmp_path / "b")
    assert rows == again and len(rows) == 12
    assert len({r["id"] for r in rows}) == 12
    assert stats["kept"] == {"articles": 12, "pool": 23}
    assert stats["dropped"] == {"bad_encoding": 1, "duplicate_article": 1, "empty_category": 1,
                                "fetch_gave_up": 1, "no_steps": 1, "not_article": 1, "truncated_page": 1}
    assert stats["crawl"] == {"cache_hits": stats["crawl"]["cache_hits"]}, "offline makes no request"
    pool = [json.loads(line) for line in (tmp_path / "a" / "pools" / "wikihow.jsonl").open()]
    assert pool[:12] == rows and len({r["meta"]["category"] for r in pool}) == 6
    other, _ = run_sample(tmp_path / "c", "--seed", 1)
    assert [r["id"] for r in other] != [r["id"] for r in rows]


def test_stage_refuses_to_crawl_without_a_user_agent(tmp_path, capsys):
    run_script("02_wikihow.py", "--cache", tmp_path, "--out", tmp_path / "x.jsonl", expect_exit=2)
    err = capsys.readouterr().err
    assert "--user-agent" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_stage_offline_without_cache_folder_is_one_line_error(tmp_path, capsys):
    run_script("02_wikihow.py", "--cache", tmp_path / "nope", "--offline", "--out", tmp_path / "x.jsonl",
               expect_exit=2)
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "no such folder" in err and "\n" not in err


def test_stage_offline_miss_writes_nothing(tmp_path, capsys):
    (tmp_path / "cache").mkdir()
    run_script("02_wikihow.py", "--cache", tmp_path / "cache", "--offline", "--out", tmp_path / "x.jsonl",
               expect_exit=2)
    assert "is not in the cache (--offline)" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


def test_stage_writes_each_stats_file_before_the_file_it_describes(tmp_path, monkeypatch):
    """A target that looks finished never has stale stats beside it: every stats file lands first."""
    import lima.io
    landed = []
    real = lima.io.os.replace
    monkeypatch.setattr(lima.io.os, "replace", lambda src, dst: (landed.append(Path(dst).relative_to(tmp_path).as_posix()),
                                                                  real(src, dst))[1])
    run_sample(tmp_path)
    assert landed == ["pools/wikihow.stats.json", "pools/wikihow.jsonl", "wikihow.stats.json", "wikihow.jsonl"]


def test_index_entry_without_status_is_one_line_error(tmp_path, capsys):
    cache = tmp_path / "cache"
    shutil.copytree(SAMPLE, cache)
    lines = (cache / "index.jsonl").read_text().splitlines(keepends=True)
    row = json.loads(lines[2])
    del row["status"]
    lines[2] = json.dumps(row) + "\n"
    (cache / "index.jsonl").write_text("".join(lines))
    run_script("02_wikihow.py", "--cache", cache, "--offline", "--out", tmp_path / "x.jsonl", expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {cache / 'index.jsonl'}: not a cache index: entry 3 has no 'status'"]
    assert not (tmp_path / "x.jsonl").exists()


def test_stage_out_that_cannot_be_written_is_one_line_error_before_any_work(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    run_script("02_wikihow.py", "--cache", SAMPLE, "--offline", "--categories", SAMPLE_CATEGORIES,
               "--out", tmp_path / "afile" / "wikihow.jsonl", expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path / 'afile' / 'wikihow.jsonl'}: cannot write: "), err
