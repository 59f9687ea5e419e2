"""The judge's configuration, the same for every stage that judges (06, 07, 09, 10).

One rule everywhere: an explicit flag wins, then the environment (JUDGE_BASE_URL, JUDGE_MODEL), else
no judge; an empty flag (`--judge-url ""`) means no judge whatever the environment says, which is how
the Makefile keeps the candidate epochs' dev generations unjudged. The key is read from JUDGE_API_KEY
(or OPENAI_API_KEY) only: a flag would land in shell history, `ps` and the recorded arguments.
"""
from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lima.errors import StageError

NEEDS_BOTH = ("the judge needs both a URL (--judge-url or JUDGE_BASE_URL) and a model "
              "(--judge-model or JUDGE_MODEL)")


@dataclass(frozen=True)
class JudgeConfig:
    url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 4
    budget: int = 5000
    timeout: float = 120.0
    max_wait: float = 60.0
    time_budget: float | None = 7200.0
    deadline: float | None = None
    problems: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.url and self.model)

    def client(self, cache_path: Path, *, url: str | None = None, model: str | None = None):
        """A ChatClient with these limits; `url` and `model` override (a system served by API)."""
        from lima.eval.judge.client import ChatClient
        return ChatClient(url or self.url, model or self.model, cache_path=cache_path, api_key=self.api_key,
                          concurrency=self.concurrency, budget=self.budget, timeout=self.timeout,
                          max_wait=self.max_wait, time_budget=self.time_budget, deadline=self.deadline)

    def record(self, client) -> dict:
        """What a summary says about the judge (never the key); answers without a readable verdict
        are said on stderr too (loudly when they are most of them)."""
        if warning := client.unreadable_warning():
            print(warning, file=sys.stderr)
        return {"url": self.url, "model": self.model, "requests": client.requests_sent,
                "cache_hits": client.cache_hits, "answers_read": client.judged, "answers_unreadable": client.unreadable}


def add_judge_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("judge (an OpenAI-compatible server; the key only from $JUDGE_API_KEY or $OPENAI_API_KEY)")
    g.add_argument("--judge-url", default=None,
                   help="base URL, e.g. https://api.openai.com/v1 (default: $JUDGE_BASE_URL; '' = no judge)")
    g.add_argument("--judge-model", default=None, help="judge model name (default: $JUDGE_MODEL; '' = no judge)")
    g.add_argument("--judge-concurrency", type=int, default=4, help="judge calls in flight at once")
    g.add_argument("--judge-budget", type=int, default=5000,
                   help="at most this many HTTP requests per run (cached answers are free)")
    g.add_argument("--judge-timeout", type=float, default=120.0, help="seconds per request before it is retried")
    g.add_argument("--judge-max-wait", type=float, default=60.0,
                   help="longest wait before a retry, whatever Retry-After asks (seconds)")
    g.add_argument("--judge-time-budget", type=float, default=7200.0,
                   help="wall-clock seconds for the whole judge phase; then the stage stops and a rerun "
                        "goes on from the cached answers (0 = no limit)")
    g.add_argument("--judge-deadline", type=float, default=None,
                   help="an absolute end (Unix seconds) shared by the stages of one make run, so that stages "
                        "06 and 07 under one `make eval` share one budget instead of one each")


def resolve(args: argparse.Namespace, environ=None) -> JudgeConfig:
    """The configuration from the flags of add_judge_args, the environment filling unset ones."""
    env = os.environ if environ is None else environ
    url = env.get("JUDGE_BASE_URL") if args.judge_url is None else args.judge_url
    model = env.get("JUDGE_MODEL") if args.judge_model is None else args.judge_model
    problems = []
    if "" in (args.judge_url, args.judge_model):       # switched off on the command line
        url = model = None
    elif bool(url) != bool(model):
        problems.append(NEEDS_BOTH)
    if args.judge_concurrency < 1 or args.judge_budget < 0 or args.judge_timeout <= 0 \
            or args.judge_max_wait < 0 or args.judge_time_budget < 0:
        problems.append("--judge-concurrency must be at least 1; --judge-budget, --judge-max-wait and "
                        "--judge-time-budget at least 0; --judge-timeout above 0")
    return JudgeConfig(url=url or None, model=model or None,
                       api_key=env.get("JUDGE_API_KEY") or env.get("OPENAI_API_KEY") or None,
                       concurrency=args.judge_concurrency, budget=args.judge_budget, timeout=args.judge_timeout,
                       max_wait=args.judge_max_wait, time_budget=args.judge_time_budget or None,
                       deadline=args.judge_deadline,
                       problems=tuple(problems))


@contextmanager
def judge_errors():
    """A judge that cannot go on (budget, time, a hard 4xx) stops the stage with one line."""
    from lima.eval.judge.client import JudgeError
    try:
        yield
    except JudgeError as e:
        raise StageError("judge", str(e)) from None
