"""The HTTP client of the judge (and of a system answering through an API): any OpenAI-compatible
chat-completions server (OpenAI, vLLM, llama.cpp, ...).

It retries 429, 5xx, timeouts and malformed bodies with exponential backoff (a `Retry-After` header
wins, but no wait is longer than `max_wait`: a server asking for an hour must not stall the stage for
hours), runs a bounded number of calls at once over one pooled `requests.Session` (connections are
reused), stops cleanly at a call budget and at a wall-clock budget for the whole phase, and caches
every answer (lima.eval.judge.cache). The request timeout bounds the whole call, connect to last
byte, not each read: a server dripping one byte every few seconds is cut off like a silent one. The
API key comes from the environment only, goes into the Authorization header, and is never logged,
cached or written anywhere.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests
from requests.adapters import HTTPAdapter

from lima.eval.judge.cache import JudgeCache, cache_key
from lima.eval.judge.prompts import JUDGE_PARAMS
from lima.retry import retry_after_seconds

log = logging.getLogger("lima.eval.judge")


class JudgeError(Exception):
    """The judge cannot go on (a 4xx other than 429, retries exhausted); the message names the fix."""


class BudgetExhausted(JudgeError):
    """The call budget or the time budget is used up; what was answered is cached."""


@dataclass
class Answer:
    text: str
    finish_reason: str | None
    completion_tokens: int | None
    cached: bool


class _Reply:
    """What one HTTP exchange gave: status, headers, body bytes."""

    def __init__(self, resp: requests.Response):
        self.status_code, self.headers, self.content = resp.status_code, resp.headers, resp.content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class ChatClient:
    """Cached, retrying, budgeted calls to `<base_url>/chat/completions`."""

    def __init__(self, base_url: str, model: str, *, cache_path: Path, api_key: str | None = None,
                 concurrency: int = 4, budget: int = 5000, timeout: float = 120.0, max_retries: int = 6,
                 backoff: float = 1.0, max_wait: float = 60.0, time_budget: float | None = None,
                 deadline: float | None = None):
        """`time_budget` (seconds from now) and `deadline` (epoch seconds, shared by several stages
        of one `make` run) both bound the phase; the earlier one counts."""
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.cache_path = Path(cache_path)
        self._key = api_key
        self.concurrency = max(1, concurrency)
        self.budget = budget
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.time_budget = time_budget
        ends = [] if time_budget is None else [(time.monotonic() + time_budget, f"the time budget of {time_budget:g} s")]
        if deadline is not None:
            ends.append((time.monotonic() + deadline - time.time(), "the judge deadline of this make run"))
        self._deadline = min(ends) if ends else None
        self.requests_sent = 0
        self.cache_hits = 0
        self.judged = 0           # answers read for a verdict (cached or fresh)
        self.unreadable = 0       # of those, answers with no readable verdict
        self.reasked = 0          # cached answers without a verdict that were asked again
        self._lock = threading.Lock()
        self._cache = JudgeCache(self.cache_path)
        self._session = requests.Session()
        pool = HTTPAdapter(pool_connections=1, pool_maxsize=2 * self.concurrency)
        self._session.mount("http://", pool)
        self._session.mount("https://", pool)

    def __repr__(self) -> str:   # never shows the key
        return f"ChatClient({self.url!r}, model={self.model!r})"

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _take_budget(self) -> None:
        with self._lock:
            if self.requests_sent >= self.budget:
                raise BudgetExhausted(f"the call budget of {self.budget} requests is used up; "
                                      "answers so far are cached, rerun (with a larger --judge-budget) to go on")
            self.requests_sent += 1

    def _time_left(self, need: float = 0.0) -> float:
        """Seconds left of the time budget; out of time (or `need` more than is left) stops the run."""
        if self._deadline is None:
            return float("inf")
        end, what = self._deadline
        left = end - time.monotonic()
        if left <= need:
            raise BudgetExhausted(f"{what} is used up; answers so far are cached, rerun (with a larger "
                                  "--judge-time-budget or JUDGE_TIME_BUDGET) to go on")
        return left

    def _send(self, body: dict, limit: float) -> _Reply:
        """One POST whose whole duration (connect, headers, body) is at most `limit` seconds. The
        exchange runs in a helper thread; past the limit it is abandoned (its reads are woken up where
        urllib3 allows) and the caller sees a Timeout, like a silent server's."""
        box: dict = {}
        done = threading.Event()

        def exchange():
            try:
                resp = self._session.post(self.url, json=body, headers=self._headers(), timeout=limit, stream=True)
                box["resp"] = resp
                with resp:
                    box["reply"] = _Reply(resp)
            except BaseException as e:           # handed to the caller's thread
                box["error"] = e
            finally:
                done.set()

        threading.Thread(target=exchange, name="judge-call", daemon=True).start()
        if not done.wait(limit):
            shutdown = getattr(getattr(box.get("resp"), "raw", None), "shutdown", None)
            if shutdown is not None:
                shutdown()
            raise requests.Timeout(f"no whole answer within {limit:g} s")
        if "error" in box:
            raise box["error"]
        return box["reply"]

    def _post(self, body: dict) -> Answer:
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            left = self._time_left()
            self._take_budget()
            wait, why = None, ""
            try:
                resp = self._send(body, min(self.timeout, left))
            except (requests.Timeout, requests.ConnectionError) as e:
                why = f"{type(e).__name__}"
            else:
                if resp.status_code == 429 or resp.status_code >= 500:
                    why = f"HTTP {resp.status_code}"
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                elif resp.status_code >= 400:
                    hint = " (check JUDGE_API_KEY)" if resp.status_code in (401, 403) else ""
                    raise JudgeError(f"{self.url}: HTTP {resp.status_code}{hint}: {resp.text[:200]!r}")
                else:
                    answer = _read_answer(resp.content)
                    if isinstance(answer, Answer):
                        return answer
                    why = answer
            if attempt == self.max_retries:
                raise JudgeError(f"{self.url}: giving up after {attempt + 1} attempts (last: {why})")
            if wait is None:
                wait = delay * (0.5 + random.random() / 2)
                delay *= 2
            wait = min(wait, self.max_wait)
            self._time_left(need=wait)
            log.info("judge: %s, retrying in %.1f s", why, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def complete(self, kind: str, template: str, inputs: dict, *, params: dict | None = None,
                 item: dict | None = None, parse: Callable[[str], object] | None = None) -> Answer:
        """One user message rendered from `template`; answered from the cache when possible."""
        messages = [{"role": "user", "content": template.format(**inputs)}]
        return self.chat(kind, messages, key_parts=(template, inputs), params=params, item=item, parse=parse)

    def chat(self, kind: str, messages: list[dict], *, key_parts: tuple, params: dict | None = None,
             item: dict | None = None, parse: Callable[[str], object] | None = None) -> Answer:
        """Any message list; `key_parts` (template, inputs) identify it in the cache. With `parse` (a
        verdict reader), a cached answer it cannot read is asked again, and a fresh one is counted."""
        params = dict(JUDGE_PARAMS if params is None else params)
        key = cache_key(self.model, key_parts[0], key_parts[1], params)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and parse is not None and parse(hit["answer"]) is None:
                hit = None
                self.reasked += 1
            if hit is not None:
                self.cache_hits += 1
        if hit is not None:
            ans = Answer(hit["answer"], hit.get("finish_reason"), hit.get("completion_tokens"), True)
        else:
            ans = self._post({"model": self.model, "messages": messages, **params})
        readable = parse is None or parse(ans.text) is not None
        with self._lock:
            self.judged += parse is not None
            self.unreadable += not readable
            if not ans.cached:
                row = {"key": key, "kind": kind, "model": self.model, **(item or {}), "answer": ans.text,
                       "finish_reason": ans.finish_reason, "completion_tokens": ans.completion_tokens}
                self._cache.add(row if readable else {**row, "unreadable": True})
        return ans

    def unreadable_warning(self) -> str | None:
        """One line when answers held no readable verdict (None when all did); loud when most did."""
        if not self.unreadable:
            return None
        most = 2 * self.unreadable > self.judged
        return (f"{'WARNING: ' if most else ''}judge: {self.unreadable} of {self.judged} answers hold no readable "
                f"verdict{' (most of them: the judged figures mean little)' if most else ''}; they are counted "
                f"as unparseable and asked again on the next run; what the server said is in {self.cache_path}")

    def map(self, fn, items: list) -> list:
        """fn over items with at most `concurrency` calls in flight; results in item order. The first
        error (budget, a hard 4xx) stops new calls and is raised after the running ones finish."""
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(x) for x in items]
        stop = threading.Event()

        def guarded(x):
            if stop.is_set():
                return None
            try:
                return fn(x)
            except Exception:
                stop.set()
                raise

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(guarded, x) for x in items]
            errors = [f.exception() for f in futures if f.exception() is not None]
            if errors:
                raise errors[0]
            return [f.result() for f in futures]


def _read_answer(content: bytes) -> Answer | str:
    """The Answer in a 200 body, or why it is malformed (the caller retries)."""
    try:
        data = json.loads(content)
        choice = data["choices"][0]
        text = choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("content is not a string")
        usage = data.get("usage") or {}
        return Answer(text, choice.get("finish_reason"), usage.get("completion_tokens"), False)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        return f"malformed answer ({type(e).__name__})"
