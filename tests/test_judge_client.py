"""The judge's HTTP client and cache (lima.eval.judge.client, judge_cache): deadlines that hold while
an answer trickles in, pooled connections, answers without a verdict never replayed, a cache that
survives a torn line. Servers run on 127.0.0.1.

Run: .venv/bin/python -m pytest -q tests/test_judge_client.py
"""
import json
import time
from http.server import BaseHTTPRequestHandler

import pytest

from conftest import run_script
from loopback import LoopbackServer
from lima.errors import StageError
from lima.eval.judge.client import BudgetExhausted, ChatClient, JudgeError
from lima.eval.judge.prompts import ABSOLUTE_TEMPLATE
from lima.eval.judge.judging import judge_single
from lima.eval.judge.verdicts import parse_absolute

ITEM = {"task": "Say hi", "response": "GOOD hi"}


class KeepAliveServer(LoopbackServer):
    """HTTP/1.1 chat-completions server: answers "Label: Pass" at once, or (drip=True) sends the
    headers and then its body one byte every `every` seconds; records each request's client port."""

    def __init__(self, drip=False, every=0.5):
        self.ports = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.ports.append(self.client_address[1])
                payload = json.dumps({"choices": [{"message": {"content": "Fine.\nLabel: Pass"}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    if not drip:
                        self.wfile.write(payload)
                        return
                    for byte in payload:
                        if outer.stop.wait(every):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        super().__init__(Handler, "/v1")


def test_the_timeout_bounds_the_whole_call_while_the_answer_trickles_in(tmp_path):
    """The drip would take ~25 s (one byte every 0.5 s); a 1 s timeout ends each try after ~1 s."""
    with KeepAliveServer(drip=True) as srv:
        client = ChatClient(srv.url, "j", cache_path=tmp_path / "c.jsonl", timeout=1, max_retries=1, backoff=0.01)
        t0 = time.monotonic()
        with pytest.raises(JudgeError, match=r"giving up after 2 attempts \(last: Timeout\)"):
            client.complete("absolute", ABSOLUTE_TEMPLATE, ITEM)
        assert time.monotonic() - t0 < 8 and len(srv.ports) == 2


def test_the_time_budget_holds_while_the_answer_trickles_in(tmp_path):
    with KeepAliveServer(drip=True) as srv:
        client = ChatClient(srv.url, "j", cache_path=tmp_path / "c.jsonl", timeout=60, time_budget=1.5, backoff=0.01)
        t0 = time.monotonic()
        with pytest.raises(BudgetExhausted, match="time budget of 1.5 s"):
            client.complete("absolute", ABSOLUTE_TEMPLATE, ITEM)
        assert time.monotonic() - t0 < 8


def test_a_shared_deadline_in_the_past_stops_before_any_call(tmp_path):
    with KeepAliveServer() as srv:
        client = ChatClient(srv.url, "j", cache_path=tmp_path / "c.jsonl", time_budget=3600, deadline=time.time() - 1)
        with pytest.raises(BudgetExhausted, match="judge deadline of this make run"):
            client.complete("absolute", ABSOLUTE_TEMPLATE, ITEM)
        assert srv.ports == []


def test_calls_reuse_one_connection(tmp_path):
    with KeepAliveServer() as srv:
        client = ChatClient(srv.url, "j", cache_path=tmp_path / "c.jsonl", concurrency=1)
        for i in range(3):
            assert client.complete("absolute", ABSOLUTE_TEMPLATE, {**ITEM, "response": f"r{i}"}).text.endswith("Pass")
    assert len(srv.ports) == 3 and len(set(srv.ports)) == 1


def test_an_answer_without_a_verdict_is_asked_again_on_the_next_run(stand_in, tmp_path):
    """A server that answered 200 with no verdict (an overload page) is asked again once it is fixed;
    the first answer stays in the cache, flagged, for the record."""
    cache = tmp_path / "judge.jsonl"
    items = [{"id": "x", "sample_idx": 0, "prompt": "Say hi", "response": "GOOD hi"}]
    stand_in.faults = ["noverdict"]
    first = ChatClient(stand_in.url, "j", cache_path=cache)
    assert judge_single(first, "absolute", items)[0]["verdict"] is None
    assert (first.judged, first.unreadable) == (1, 1)
    assert "WARNING: judge: 1 of 1 answers hold no readable verdict" in first.unreadable_warning()
    assert str(cache) in first.unreadable_warning()
    assert json.loads(cache.read_text())["unreadable"] is True
    again = ChatClient(stand_in.url, "j", cache_path=cache)
    assert judge_single(again, "absolute", items)[0]["verdict"] == "excellent"
    assert (again.requests_sent, again.reasked, again.unreadable_warning()) == (1, 1, None)
    third = ChatClient(stand_in.url, "j", cache_path=cache)                 # the readable answer is the hit now
    assert judge_single(third, "absolute", items)[0]["verdict"] == "excellent" and third.requests_sent == 0


def test_a_cache_written_before_the_flag_is_read_and_its_verdictless_rows_asked_again(stand_in, tmp_path):
    """Caches of earlier versions hold verdictless answers without the flag: the parser decides."""
    cache = tmp_path / "judge.jsonl"
    ChatClient(stand_in.url, "j", cache_path=cache).complete("absolute", ABSOLUTE_TEMPLATE, ITEM)
    row = json.loads(cache.read_text())
    cache.write_text(json.dumps({**row, "answer": "Service busy."}) + "\n")
    client = ChatClient(stand_in.url, "j", cache_path=cache)
    assert parse_absolute(client.complete("absolute", ABSOLUTE_TEMPLATE, ITEM, parse=parse_absolute).text) == "excellent"
    assert client.requests_sent == 1
    plain = ChatClient(stand_in.url, "j", cache_path=tmp_path / "gen.jsonl")          # no parser: text is the answer
    plain.complete("generate", "{task}", {"task": "Please say noverdict"})
    assert ChatClient(stand_in.url, "j", cache_path=tmp_path / "gen.jsonl").complete(
        "generate", "{task}", {"task": "Please say noverdict"}).cached


def test_a_torn_cache_line_survives_the_next_run_and_the_run_after(stand_in, tmp_path, caplog):
    cache = tmp_path / "judge.jsonl"
    first = ChatClient(stand_in.url, "j", cache_path=cache)
    first.complete("absolute", ABSOLUTE_TEMPLATE, ITEM, parse=parse_absolute)
    with open(cache, "a") as f:
        f.write('{"key": "abc", "answ')                                       # killed mid-append
    second = ChatClient(stand_in.url, "j", cache_path=cache)
    second.complete("absolute", ABSOLUTE_TEMPLATE, {**ITEM, "response": "OK two"}, parse=parse_absolute)
    with caplog.at_level("WARNING"):
        third = ChatClient(stand_in.url, "j", cache_path=cache)             # used to be a jsonlines traceback
    for response in ("GOOD hi", "OK two"):
        assert third.complete("absolute", ABSOLUTE_TEMPLATE, {**ITEM, "response": response}).cached
    assert "judge.jsonl: skipped 1 line(s) cut by an interrupted write (line 2)" in caplog.text


def test_a_file_that_is_no_judge_cache_is_one_line_error(tmp_path):
    cache = tmp_path / "judge.jsonl"
    cache.write_text('{"id": "a", "conversations": ["hi"]}\n')
    with pytest.raises(StageError, match="judge.jsonl: entry 1 is not a judge answer"):
        ChatClient("http://127.0.0.1:9/v1", "j", cache_path=cache)


def test_stage_06_says_loudly_when_most_answers_hold_no_verdict(stand_in, tmp_path, capsys):
    prompts = tmp_path / "test.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"q{i}", "source": "authors", "conversations": [f"Please say hi {i}"],
                                           "meta": {}}) + "\n" for i in range(3)))
    stand_in.faults = [None, None, None, "noverdict", "noverdict", None]      # 3 generations, then 3 likert
    run_script("06_eval.py", "--generate-via-api", "sys", "--prompts", prompts, "--out", tmp_path / "res",
               "--judge", "likert", "--judge-url", stand_in.url, "--judge-model", "j", "--judge-concurrency", "1")
    err = capsys.readouterr().err
    assert "WARNING: judge: 2 of 3 answers hold no readable verdict (most of them" in err
    assert str(tmp_path / "res" / "judgments" / "judge.jsonl") in err
    summary = json.loads(next((tmp_path / "res" / "eval").glob("*.summary.json")).read_text())
    assert (summary["judge"]["answers_read"], summary["judge"]["answers_unreadable"]) == (3, 2)
    report = next((tmp_path / "res" / "report").glob("*.md")).read_text()            # and the report says so too
    assert "**WARNING:** the likert rating: 2 of 3 judge answers held no readable verdict" in report
