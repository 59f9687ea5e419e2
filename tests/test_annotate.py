"""The human preference study without a browser: names, items and their assignment, the label store
(torn lines, concurrent writers), the page's API, the CSV round trip, the agreement numbers on
hand-made labels, and the script (serve stops on Ctrl-C leaving whole lines; summary's contract).

Run: .venv/bin/python -m pytest -q tests/test_annotate.py
"""
import csv
import json
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import ROOT, run_script
from lima.errors import StageError
from lima.eval.preference.agreement import pool, tie_discounted_accuracy
from lima.eval.annotate.crowd import export_csv, import_csv, normalise_answer
from lima.eval.annotate.labels import LabelStore, latest
from lima.eval.annotate.server import PAPER_OPTIONS, PAPER_QUESTION, INSTRUCTIONS, Study, make_server
from lima.eval.annotate.study import build_study, check_name, load_study, parse_baselines, queue, write_study
from lima.eval.annotate.summary import merge, our_verdict, summarise


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def inputs(tmp_path):
    """12 of our generations (and a second sample that must be ignored), a baseline missing 2 ids."""
    gens = [{"id": f"t/{i}", "sample_idx": 0, "prompt": f"Prompt {i}?", "response": f"ours {i}"} for i in range(12)]
    gens += [{"id": "t/0", "sample_idx": 1, "prompt": "Prompt 0?", "response": "second sample"}]
    base = [{"id": f"t/{i}", "prompt": f"Prompt {i}?", "response": f"theirs {i}"} for i in range(2, 12)]
    return (write_jsonl(tmp_path / "epoch_10.test.jsonl", gens), write_jsonl(tmp_path / "alpaca.test.jsonl", base))


def make_study(tmp_path, inputs, **kw):
    gens, base = inputs
    kw = {"shared": 4, "absolute": 5, "annotators": ["alice", "bob"], **kw}
    study, items = build_study(gens, {"alpaca": base}, **kw)
    write_study(tmp_path / "human", study, items)
    return study, items


# ---- names and the study ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["alice", "Bob_2", "w.k-3", "A" * 40, "7"])
def test_safe_names_pass(name):
    assert check_name(name) is None


@pytest.mark.parametrize("name", ["bob smith", "böb", "<script>", "../etc", ".hidden", "-x", "A" * 41, "a/b"])
def test_odd_names_are_refused_with_the_rule(name):
    assert check_name(name) == f"annotator name {name!r} is not allowed: use 1-40 characters: letters, digits, " \
                               "'.', '_' or '-', starting with a letter or digit"


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_missing_name_is_refused_as_required(name):
    assert check_name(name) == "an annotator name is required"


def test_baselines_by_name_or_file_and_duplicates_refused(tmp_path):
    assert parse_baselines(["a=x.jsonl", "results/alpaca-65b.test.jsonl"]) == {"a": Path("x.jsonl"),
                                                                                "alpaca-65b": Path("results/alpaca-65b.test.jsonl")}
    with pytest.raises(StageError, match="two baselines are named 'a'"):
        parse_baselines(["a=x.jsonl", "a=y.jsonl"])
    with pytest.raises(StageError, match="not allowed"):
        parse_baselines(["bad name=x.jsonl"])


def test_items_cover_common_ids_with_sides_recorded_and_assignment(tmp_path, inputs):
    study, items = make_study(tmp_path, inputs, annotators=["alice", "bob", "carol"])
    pairwise = [it for it in items if it["kind"] == "pairwise"]
    assert len(pairwise) == 10 and study["missing"]["alpaca"] == {"ours_without_baseline": 2, "baseline_without_ours": 0}
    assert {it["id"] for it in pairwise} == {f"t/{i}" for i in range(2, 12)}
    for it in pairwise:          # our response on the recorded side, the first sample only
        assert it[it["ours"].lower()] == f"ours {it['id'][2:]}" and it["b" if it["ours"] == "A" else "a"].startswith("theirs")
    assert Counter(it["ours"] for it in pairwise)["A"] not in (0, 10)
    assert sum(it["kind"] == "absolute" for it in items) == 5 and study["n_items"]["shared"] == 4
    shared = [it for it in items if it["shared"]]
    assert len(shared) == 4 and all(it["kind"] == "pairwise" and it["assigned"] == "*" for it in shared)
    rest = [it for it in items if not it["shared"]]
    assert all(len(it["assigned"]) == 1 for it in rest)
    assert sorted(Counter(it["assigned"][0] for it in rest).values()) == [3, 4, 4]       # 11 dealt to 3
    q = queue(items, "bob")
    assert [it["shared"] for it in q[:4]] == [True] * 4 and len(q) == 4 + sum(it["assigned"] == ["bob"] for it in rest)
    kinds = [it["kind"] for it in q[4:]]
    assert kinds == sorted(kinds, key=["pairwise", "absolute"].index)
    assert build_study(*inputs[:1], {"alpaca": inputs[1]}, shared=4, absolute=5, annotators=["alice", "bob", "carol"]) == (study, items)
    assert load_study(tmp_path / "human") == (study, items)


def test_open_study_gives_everyone_every_item_and_caps_the_shared_set(tmp_path, inputs):
    study, items = make_study(tmp_path, inputs, annotators=None, shared=50)
    assert study["n_items"]["shared"] == 10 and len(queue(items, "anyone")) == len(items) == 15


def test_a_study_without_items_or_with_bad_files_says_so(tmp_path, inputs):
    gens, _ = inputs
    (tmp_path / "broken.jsonl").write_text('{"id": "x", "response": "y"}\n{not json\n')
    with pytest.raises(StageError, match="not a JSONL file"):
        build_study(gens, {"b": tmp_path / "broken.jsonl"})
    with pytest.raises(StageError, match="no such file"):
        build_study(gens, {"b": tmp_path / "absent.jsonl"})
    with pytest.raises(StageError, match="no study here"):
        load_study(tmp_path / "nothing")
    study, items = make_study(tmp_path, inputs)
    (tmp_path / "human" / "items.jsonl").write_text('{"item_id": "cut')          # a study file cut short
    write_study(tmp_path / "human", study, items)
    assert load_study(tmp_path / "human") == (study, items)


# ---- the label store --------------------------------------------------------------------------------

def test_torn_last_line_is_a_counted_skip_and_the_next_label_is_whole(tmp_path):
    store = LabelStore(tmp_path / "labels.jsonl")
    store.append({"item_id": "i1", "annotator": "alice", "label": "A"})
    with open(store.path, "a") as f:
        f.write('{"item_id": "i2", "annot')                       # a writer killed mid-line
    counts = Counter()
    assert [r["item_id"] for r in store.read(counts)] == ["i1"] and counts == {"torn_last_line": 1}
    store.append({"item_id": "i3", "annotator": "alice", "label": "B"})
    counts = Counter()
    assert [r["item_id"] for r in store.read(counts)] == ["i1", "i3"] and counts == {"bad_line": 1}
    assert store.path.read_bytes().endswith(b"\n")


def _append_many(path, who, n):
    store = LabelStore(path)
    for i in range(n):
        store.append({"item_id": f"item{i}", "annotator": who, "label": "A", "pad": "x" * 3000})


def test_concurrent_writers_threads_and_processes_lose_nothing(tmp_path):
    path = tmp_path / "labels.jsonl"
    threads = [threading.Thread(target=_append_many, args=(path, f"t{k}", 40)) for k in range(6)]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(path, f"p{k}", 40)) for k in range(2)]
    for w in procs + threads:           # fork before any thread runs
        w.start()
    for w in threads + procs:
        w.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs)
    counts = Counter()
    rows = LabelStore(path).read(counts)
    assert not counts and len(rows) == 8 * 40 and len(latest(rows)) == 8 * 40


def test_same_item_labelled_twice_keeps_both_and_the_later_counts(tmp_path):
    store = LabelStore(tmp_path / "labels.jsonl")
    store.append({"item_id": "i", "annotator": "alice", "label": "A"})
    store.append({"item_id": "i", "annotator": "alice", "label": "neither"})
    rows = store.read()
    assert len(rows) == 2 and latest(rows)[("alice", "i")]["label"] == "neither"


# ---- the page's API ------------------------------------------------------------------------------------

@pytest.fixture
def server(tmp_path, inputs):
    study, items = make_study(tmp_path, inputs)
    store = LabelStore(tmp_path / "human" / "labels.jsonl")
    httpd = make_server(Study(study, items, store), port=0)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", store
    httpd.shutdown()
    httpd.server_close()


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_api_refuses_odd_names_roster_strangers_bad_labels_and_unknown_items(server):
    url, store = server
    status, body = call(f"{url}/api/item?annotator=b%C3%B6b%3Cscript%3E")
    assert status == 400 and "letters, digits" in body["error"]
    status, body = call(f"{url}/api/item?annotator=carol")
    assert status == 403 and "roster" in body["error"]
    _, s = call(f"{url}/api/item?annotator=alice")
    it = s["item"]
    for bad, msg in (({"label": "C"}, "label must be one of"), ({"item_id": "pairwise/alpaca/t/999"}, "not one of"),
                     ({"digest": "0" * 12}, "changed"), ({"annotator": "a b"}, "letters, digits")):
        body = {"annotator": "alice", "item_id": it["item_id"], "digest": it["digest"], "label": "A", **bad}
        status, answer = call(f"{url}/api/label", body)
        assert status == 400 and msg in answer["error"], (bad, answer)
    assert not store.path.exists()
    req = urllib.request.Request(f"{url}/api/label", b"not json", {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400
    req = urllib.request.Request(f"{url}/api/study", headers={"Host": "attacker.example:80"})
    with pytest.raises(urllib.error.HTTPError) as e:                # DNS rebinding: another site's name
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403
    for page in ("/", "/static/app.js", "/static/style.css"):
        with urllib.request.urlopen(url + page, timeout=10) as r:
            assert r.status == 200 and len(r.read()) > 500


def raw_post(url, content_length, body=b""):
    """The reply to a POST with this Content-Length header (a raw socket: urllib fixes the header)."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"POST /api/label HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {content_length}\r\n\r\n".encode() + body)
        s.shutdown(socket.SHUT_WR)
        return s.makefile("rb").read().decode()


@pytest.mark.parametrize("length,status,error", [("-1", 400, "Content-Length must be"), ("abc", 400, "Content-Length must be"),
                                                 ("1e3", 400, "Content-Length must be"), (str(10**9), 413, "too large")])
def test_a_bad_or_huge_content_length_is_refused_before_reading(server, length, status, error):
    """-1 used to read the whole stream into memory; a word gave a traceback and no reply."""
    url, store = server
    reply = raw_post(url, length, b'{"annotator": "alice"}')
    assert reply.split()[1] == str(status) and error in reply
    assert not store.path.exists()


def test_the_server_queues_a_burst_of_connections_instead_of_dropping_them(tmp_path, inputs):
    """50 browsers connecting while the server is busy (not accepting) all get through the handshake;
    a backlog of 5 dropped the rest (their connects time out)."""
    study, items = make_study(tmp_path, inputs)
    httpd = make_server(Study(study, items, LabelStore(tmp_path / "l.jsonl")), port=0)
    socks = []
    try:
        for _ in range(50):
            socks.append(socket.create_connection(httpd.server_address, timeout=0.5))
    except OSError as e:
        pytest.fail(f"connection {len(socks) + 1} of 50 refused or timed out ({e})")
    finally:
        for s in socks:
            s.close()
        httpd.server_close()


def test_api_progress_resumes_from_the_store(server):
    url, store = server
    _, s = call(f"{url}/api/item?annotator=alice")
    assert (s["done"], s["pos"], s["shared_done"]) == (0, 0, 0) and s["shared_total"] == 4
    for label in ("A", "B", "neither"):
        it = s["item"]
        status, s = call(f"{url}/api/label", {"annotator": "alice", "item_id": it["item_id"], "digest": it["digest"], "label": label})
        assert status == 200
    assert (s["done"], s["pos"]) == (3, 3)
    _, again = call(f"{url}/api/item?annotator=alice")            # a new browser: the server knows
    assert (again["done"], again["pos"], again["first_open"]) == (3, 3, 3)
    _, back = call(f"{url}/api/item?annotator=alice&pos=1")
    assert back["label"] == "B"
    status, s = call(f"{url}/api/label", {"annotator": "alice", "item_id": back["item"]["item_id"],
                                          "digest": back["item"]["digest"], "label": "A"})
    assert s["pos"] == 3 and s["done"] == 3 and len(store.read()) == 4      # relabel: kept, the later counts
    assert call(f"{url}/api/item?annotator=alice&pos=1")[1]["label"] == "A"
    assert call(f"{url}/api/item?annotator=alice&pos=99")[0] == 400


def test_two_browsers_labelling_the_same_item_at_once_lose_nothing(server):
    url, store = server
    _, s = call(f"{url}/api/item?annotator=bob")
    it = s["item"]
    barrier = threading.Barrier(8)
    results = []

    def one(k):
        barrier.wait()
        results.append(call(f"{url}/api/label", {"annotator": "bob", "item_id": it["item_id"], "digest": it["digest"],
                                                  "label": ("A", "B")[k % 2]})[0])
    threads = [threading.Thread(target=one, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    rows = store.read()
    assert results == [200] * 8 and len(rows) == 8
    assert latest(rows)[("bob", it["item_id"])]["label"] == rows[-1]["label"]


# ---- CSV round trip ---------------------------------------------------------------------------------------

def test_csv_export_then_platform_answers_imported_with_bad_rows_counted(tmp_path, inputs):
    study, items = make_study(tmp_path, inputs)
    written = export_csv(items, tmp_path / "crowd")
    assert written == {"pairwise": 10, "absolute": 5}
    with open(tmp_path / "crowd" / "pairwise.csv", newline="") as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == 10 and {r["item_id"] for r in exported} == {it["item_id"] for it in items if it["kind"] == "pairwise"}
    assert sum(r["shared"] == "1" for r in exported) == 4
    # A Mechanical Turk results file: Input.* columns, WorkerId, Answer.label with the paper's option text.
    answers = ["Answer A is significantly better.", "B", "Neither is significantly better.", "neither"]
    out = tmp_path / "results.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["HITId", "WorkerId", "Input.item_id", "Input.digest", "Answer.label"])
        for k, r in enumerate(exported):
            w.writerow([f"h{k}", "W1", r["item_id"], r["digest"], answers[k % 4]])
        w.writerow(["h", "W2", "pairwise/alpaca/unknown", "", "A"])
        w.writerow(["h", "W2", exported[0]["item_id"], exported[0]["digest"], "maybe"])
        w.writerow(["h", "bad worker!", exported[0]["item_id"], exported[0]["digest"], "A"])
        w.writerow(["h", "W2", exported[0]["item_id"], "0123456789ab", "A"])
        w.writerow(["h", "W2", "absolute/t/3" if any(it["item_id"] == "absolute/t/3" for it in items)
                    else next(it["item_id"] for it in items if it["kind"] == "absolute"), "", "Excellent"])
    store = LabelStore(tmp_path / "human" / "labels.jsonl")
    counts = import_csv(out, items, store)
    assert counts == {"imported": 11, "unknown_item": 1, "bad_answer": 1, "bad_annotator": 1, "stale_item": 1}
    assert import_csv(out, items, store) == {"already_recorded": 11, "unknown_item": 1, "bad_answer": 1,
                                             "bad_annotator": 1, "stale_item": 1}
    rows = store.read()
    assert len(rows) == 11 and all(r["source"] == "csv:results.csv" for r in rows)
    summary = summarise(tmp_path / "human", None)
    assert summary["pairwise"]["alpaca"]["n"] == 10 and summary["absolute"]["excellent"] == 1
    (tmp_path / "nohead.csv").write_text("a,b\n1,2\n")
    with pytest.raises(StageError, match="no item_id / annotator / label column"):
        import_csv(tmp_path / "nohead.csv", items, store)


@pytest.mark.parametrize("text,label", [("A", "A"), ("answer b", "B"), ("◼ Answer A is significantly better.", "A"),
                                        ("Neither is significantly better", "neither"), ("tie", "neither"),
                                        ("PASS", "pass"), (" excellent ", "excellent"), ("C", None), ("", None)])
def test_answers_in_short_or_the_papers_words(text, label):
    assert normalise_answer(text) == label


# ---- the numbers ---------------------------------------------------------------------------------------------

def test_our_side_and_the_merge_rule():
    assert [our_verdict(lab, side) for lab, side in (("A", "A"), ("B", "A"), ("A", "B"), ("B", "B"), ("neither", "A"))] == \
        ["win", "loss", "loss", "win", "tie"]
    wtl = ("win", "tie", "loss")
    assert merge(["win"], wtl) == "win" and merge(["win", "loss"], wtl) == "tie" and merge(["win", "win", "tie"], wtl) == "win"
    order = ("fail", "pass", "excellent")
    assert merge(["fail", "excellent"], order) == "fail" and merge(["pass", "excellent", "excellent"], order) == "excellent"


def test_agreement_on_hand_made_labels(tmp_path, inputs):
    """Four shared items; alice and bob agree on one, one says tie on two, they disagree on one:
    (1 + 0.5 + 0.5 + 0) / 4 = 50%. The judge: alice matches it on all four (100%), bob on one (1 + 0.5 + 0.5 + 0 = 50%)."""
    study, items = make_study(tmp_path, inputs, annotators=["alice", "bob"], absolute=0)
    shared = sorted((it for it in items if it["shared"]), key=lambda it: it["item_id"])
    to_label = {"win": lambda it: it["ours"], "loss": lambda it: "B" if it["ours"] == "A" else "A", "tie": lambda it: "neither"}
    alice, bob = ["win", "win", "tie", "loss"], ["win", "tie", "win", "win"]
    store = LabelStore(tmp_path / "human" / "labels.jsonl")
    for it, a, b in zip(shared, alice, bob):
        store.append({"item_id": it["item_id"], "digest": it["digest"], "annotator": "alice", "label": to_label[a](it)})
        store.append({"item_id": it["item_id"], "digest": it["digest"], "annotator": "bob", "label": to_label[b](it)})
    store.append({"item_id": "pairwise/alpaca/t/999", "annotator": "bob", "label": "A"})            # unknown item
    store.append({"item_id": shared[0]["item_id"], "digest": "stale", "annotator": "bob", "label": "A"})
    store.append({"item_id": shared[0]["item_id"], "digest": shared[0]["digest"], "annotator": "x y", "label": "A"})
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    write_jsonl(eval_dir / "epoch_10.test.pairwise-alpaca.jsonl",
                [{"id": it["id"], "sample_idx": 0, "verdict": v} for it, v in zip(shared, alice)] + [{"id": "t/x", "verdict": "?"}])
    s = summarise(tmp_path / "human", eval_dir)
    hh, hj = s["agreement"]["human_human"], s["agreement"]["human_judge"]
    assert hh["agreement"] == 0.5 and hh["n_items"] == 4 and (hh["full"], hh["half"], hh["zero"]) == (1, 2, 1)
    assert hh["pairs"]["alice~bob"]["agreement"] == 0.5
    assert hj["by_annotator"]["alice"]["agreement"] == 1.0 and hj["by_annotator"]["bob"]["agreement"] == 0.5
    assert hj["agreement"] == 0.75 and hj["n_items"] == 8
    # merged per item: win (both), tie (win+tie: no majority), tie (tie+win), tie (loss+win)
    assert s["pairwise"]["alpaca"] == {"win": 1, "tie": 3, "loss": 0, "n": 4}
    assert s["labels"]["skipped"] == {"unknown_item": 1, "stale_label": 1, "bad_annotator": 1}
    assert s["agreement"]["paper"]["crowd-crowd"] == 0.82
    assert pool([tie_discounted_accuracy({1: "win"}, {1: "tie"}), tie_discounted_accuracy({1: "win"}, {1: "win"})])["agreement"] == 0.75


def test_the_page_quotes_the_papers_question_as_the_judge_does():
    from lima.eval.judge.prompts import PAIRWISE_TEMPLATE
    flat = " ".join(PAIRWISE_TEMPLATE.split())
    assert PAPER_QUESTION in flat and INSTRUCTIONS["pairwise"]["compare"] in flat
    assert all(option in flat for option in PAPER_OPTIONS.values())


# ---- the script -----------------------------------------------------------------------------------------------

def test_summary_script_writes_the_contract_and_the_fragment(tmp_path, inputs):
    gens, base = inputs
    human = tmp_path / "run" / "human"
    run_script("06_annotate.py", "export", "--generations", gens, "--baseline", f"alpaca-65b={base}",
               "--study", human, "--shared", 3, "--absolute", 2)
    study, items = load_study(human)
    store = LabelStore(human / "labels.jsonl")
    for it in items:
        store.append({"item_id": it["item_id"], "digest": it["digest"], "annotator": "alice",
                      "label": "A" if it["kind"] == "pairwise" else "pass"})
    report = tmp_path / "run" / "report" / "human.md"
    run_script("06_annotate.py", "summary", "--study", human, "--eval", tmp_path / "run" / "eval", "--report", report)
    s = json.loads((human / "summary.json").read_text())
    assert set(s) >= {"pairwise", "absolute", "agreement", "annotators"}
    c = s["pairwise"]["alpaca-65b"]
    assert all(isinstance(c[k], int) for k in ("win", "tie", "loss", "n")) and c["n"] == 10 == c["win"] + c["loss"]
    assert s["absolute"] == {"fail": 0, "pass": 2, "excellent": 0, "n": 2}
    text = report.read_text()
    assert "| alpaca-65b |" in text and "53 / 21 / 26" in text and "82%" in text and "(report/human.png)" in text
    assert (report.parent / "human.png").stat().st_size > 1000
    assert "no response for 2 of our prompts" in text
    # Rerun with nothing new: summary.json keeps its time (stage 06's report, which reads it, stays current).
    before = (human / "summary.json").stat().st_mtime_ns
    run_script("06_annotate.py", "summary", "--study", human, "--eval", tmp_path / "run" / "eval", "--report", report)
    assert (human / "summary.json").stat().st_mtime_ns == before
    assert run_script("06_annotate.py", "summary", "--study", tmp_path / "none", "--report", report, expect_exit=2) == 2


def test_serve_prints_the_url_and_stops_on_ctrl_c_leaving_whole_lines(tmp_path, inputs):
    gens, base = inputs
    human = tmp_path / "human"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "06_annotate.py"), "serve", "--generations", str(gens),
                             "--baseline", f"alpaca={base}", "--study", str(human), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")})
    try:
        line = proc.stdout.readline()                # blocks until the server announces itself
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        _, s = call(f"{url}api/item?annotator=alice")
        it = s["item"]
        assert call(f"{url}api/label", {"annotator": "alice", "item_id": it["item_id"], "digest": it["digest"],
                                        "label": "A"})[0] == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped; 1 label rows" in out
    assert (human / "labels.jsonl").read_bytes().endswith(b"\n")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)


@pytest.mark.skipif(not (ROOT / ".git").exists() or not __import__("shutil").which("make"), reason="needs make and a git checkout")
def test_make_annotate_passes_baselines_roster_and_the_chosen_generations(tmp_path):
    """`make -n annotate`: the generation file of the `selected` epoch, every baseline of BASELINES and
    BASELINE, the roster; the evaluation it depends on is taken as done (-o)."""
    (tmp_path / "ckpt" / "sample" / "epoch_07").mkdir(parents=True)
    (tmp_path / "ckpt" / "sample" / "selected").symlink_to("epoch_07")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    res = tmp_path / "results"
    proc = subprocess.run(["make", "--no-print-directory", "-n", "annotate", "annotate-import", f"RESULTS={res}",
                           f"CKPT_ROOT={tmp_path / 'ckpt'}", "BASELINES=a=x.jsonl b=y.jsonl", "BASELINE=z.test.jsonl",
                           "ANNOTATORS=alice bob", "ANNOTATE_PORT=0", "CSV=answers.csv", "-o", f"{res}/sample/report/eval.md"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    serve = next(line for line in proc.stdout.splitlines() if "06_annotate.py serve" in line)
    assert f"--generations {res}/sample/generations/epoch_07.test.jsonl --study {res}/sample/human" in serve
    assert "--baseline 'a=x.jsonl' --baseline 'b=y.jsonl' --baseline 'z.test.jsonl'" in serve
    assert '--annotators "alice bob"' in serve and serve.endswith("--port 0")
    assert f"06_annotate.py import answers.csv --study {res}/sample/human" in proc.stdout
