#!/usr/bin/env python3
"""Fetch the real third-party files some tests read (`make realdata`): each from its public repository
at the pinned commit in tests/realdata.tsv, checked against its size and sha256, into .cache/realdata/.

The repository ships the recipe, not the data: the files are other people's (Stack Exchange and
Pushshift dumps, wikiHow pages, Super-NaturalInstructions tasks). A file whose bytes differ from the
pinned sha256, or whose transfer ends short, is one line on stderr and is not kept; the others are.
A file already in the cache with the right sha256 is not fetched again.

The release's one-line Stack Exchange prompts (lima_se_short_prompts.txt, for the title-rule test)
are derived from the GAIR/lima train file the user gives (`--lima-release`, the paper profile's
LIMA_RELEASE): that file is gated on its hub and is never downloaded from a third party's copy.

    .venv/bin/python scripts/tools/fetch_realdata.py --out .cache/realdata
    .venv/bin/python scripts/tools/fetch_realdata.py --out .cache/realdata --lima-release data/raw/lima
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "tests" / "realdata.tsv"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"     # GitHub's raw-file host: /<owner>/<repo>/<commit>/<path>
SHORT_PROMPTS = "lima_se_short_prompts.txt"
SHORT_PROMPT_CHARS = 150
RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Source:
    file: str          # path under the cache folder
    repository: str    # owner/name
    path: str          # path in the repository; `archive.zip!member` for a zip member
    commit: str
    size: int
    sha256: str


class FetchError(Exception):
    """One file that could not be fetched as pinned; the message is its one line."""


def read_manifest(path: Path = MANIFEST) -> list[Source]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    if not rows or rows[0] != ["file", "repository", "path", "commit", "size", "sha256"]:
        raise SystemExit(f"error: {path}: expected the header file, repository, path, commit, size, sha256")
    out = []
    for n, row in enumerate(rows[1:], 2):
        if len(row) != 6 or not row[4].isdigit() or len(row[5]) != 64:
            raise SystemExit(f"error: {path}: row {n} is not <file> <repository> <path> <commit> <size> <sha256>")
        out.append(Source(row[0], row[1], row[2], row[3], int(row[4]), row[5]))
    return out


def url_of(src: Source, base_url: str) -> str:
    archive = src.path.split("!", 1)[0]
    return f"{base_url.rstrip('/')}/{src.repository}/{src.commit}/{quote(archive, safe='/')}"


def download(session: requests.Session, url: str, *, tries: int = 3, timeout: float = 60.0,
             backoff: float = 2.0, sleep=time.sleep) -> bytes:
    """The body of a 200 response. Timeouts, broken connections, a body shorter than its
    Content-Length and 429/5xx are retried (`tries` in all, backoff doubling); another status is not."""
    error = ""
    for attempt in range(tries):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        try:
            r = session.get(url, timeout=timeout)
            body = r.content
            expected = r.headers.get("Content-Length")
            if r.ok and expected and expected.isdigit() and int(expected) != len(body) \
                    and not r.headers.get("Content-Encoding"):
                raise requests.exceptions.ChunkedEncodingError(
                    f"transfer ended after {len(body)} of {expected} bytes")
        except requests.RequestException as e:
            error = f"{type(e).__name__}: {e}"[:200]
            continue
        if r.status_code in RETRY_STATUSES:
            error = f"HTTP {r.status_code}"
            continue
        if r.status_code != 200:
            raise FetchError(f"HTTP {r.status_code} from {url}")
        return body
    raise FetchError(f"{error} from {url} ({tries} tries)")


def _member(data: bytes, name: str, url: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return z.read(name)
    except (zipfile.BadZipFile, KeyError) as e:
        raise FetchError(f"no member {name} in the zip from {url} ({e})") from None


def fetch(src: Source, out_dir: Path, session: requests.Session, base_url: str, **kw) -> bool:
    """Put the pinned bytes of `src` at out_dir/src.file; False when they were there already."""
    dest = out_dir / src.file
    if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == src.sha256:
        return False
    url = url_of(src, base_url)
    data = download(session, url, **kw)
    if "!" in src.path:
        data = _member(data, src.path.split("!", 1)[1], url)
    if len(data) != src.size:
        raise FetchError(f"{len(data)} bytes from {url}, pinned {src.size}: truncated or changed, not kept")
    digest = hashlib.sha256(data).hexdigest()
    if digest != src.sha256:
        raise FetchError(f"sha256 {digest[:12]}... from {url}, pinned {src.sha256[:12]}...: not kept")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return True


def short_prompts(train_jsonl: Path) -> str:
    """The release's Stack Exchange prompts that are one line under SHORT_PROMPT_CHARS characters
    (mostly bare titles), in file order, one a line."""
    lines = []
    for n, line in enumerate(train_jsonl.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            prompt = row["conversations"][0] if row.get("source") == "stackexchange" else None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise SystemExit(f"error: {train_jsonl}: line {n} is not a GAIR/lima row") from None
        if isinstance(prompt, str) and "\n" not in prompt.strip() and len(prompt.strip()) < SHORT_PROMPT_CHARS:
            lines.append(prompt.strip())
    return "".join(f"{p}\n" for p in lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / ".cache" / "realdata", help="cache folder to fill")
    p.add_argument("--manifest", type=Path, default=MANIFEST, help="the pinned sources (TSV)")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL,
                   help="raw-file host serving /<owner>/<repo>/<commit>/<path> (default: GitHub's)")
    p.add_argument("--lima-release", type=Path, default=None,
                   help="folder with GAIR/lima's train.jsonl: derive the release's short Stack Exchange prompts")
    p.add_argument("--tries", type=int, default=3, help="attempts per file on a timeout, broken transfer or 5xx")
    p.add_argument("--backoff", type=float, default=2.0, help="seconds before the second try (doubling)")
    args = p.parse_args(argv)
    sources = read_manifest(args.manifest)
    failed = fetched = 0
    with requests.Session() as session:
        session.headers["User-Agent"] = "lima-repro make realdata"
        for src in sources:
            try:
                fetched += fetch(src, args.out, session, args.base_url, tries=args.tries, backoff=args.backoff)
            except FetchError as e:
                print(f"error: {src.file}: {e}", file=sys.stderr)
                failed += 1
    if args.lima_release:
        train = args.lima_release / "train.jsonl"
        if not train.is_file():
            print(f"error: {args.lima_release}: no train.jsonl (the GAIR/lima release's train file)", file=sys.stderr)
            return 2
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / SHORT_PROMPTS).write_text(short_prompts(train), encoding="utf-8")
        print(f"realdata: {SHORT_PROMPTS} derived from {train}")
    else:
        print(f"realdata: {SHORT_PROMPTS} not derived (LIMA_RELEASE=<folder with GAIR/lima's train.jsonl> "
              "derives it); the test that reads it skips")
    print(f"realdata: {len(sources) - failed} of {len(sources)} files in {args.out} ({fetched} fetched now)")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
