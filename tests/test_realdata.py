"""`make realdata`: the real third-party samples fetched at pinned commits, each checked against its
sha256, from a raw-file server the test starts on 127.0.0.1 (no network).

Run: .venv/bin/python -m pytest -q tests/test_realdata.py
"""
import hashlib
import http.server
import io
import json
import shutil
import subprocess
import zipfile
from collections import Counter
from urllib.parse import unquote

import pytest

from conftest import REALDATA, ROOT, _holds_every_real_file
from loopback import LoopbackServer
from tools.fetch_realdata import main, read_manifest, short_prompts


class RawHost(LoopbackServer):
    """Serves {url path: bytes}; a path in `cut` is sent with its full Content-Length but half its
    body, then the connection closes (a transfer that ends short). Counts the requests per path."""

    def __init__(self, files: dict[str, bytes], cut=()):
        self.files, self.cut, self.hits = files, set(cut), Counter()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = unquote(self.path)
                host.hits[path] += 1
                body = host.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if path in host.cut else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        super().__init__(Handler)


def _row(file, path, data, commit="c0ffee"):
    return f"{file}\to/r\t{path}\t{commit}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_good_files_are_kept_and_each_bad_one_is_one_line_and_absent(tmp_path, capsys):
    good, member, pinned = b"real bytes\n" * 50, b"headline,title,text\n", b"the pinned bytes\n"
    manifest = tmp_path / "realdata.tsv"
    manifest.write_text("# a comment\nfile\trepository\tpath\tcommit\tsize\tsha256\n"
                        + _row("a/good.txt", "dir/good file.txt", good)
                        + _row("a/member.csv", "dummy.zip!inner/all.csv", member)
                        + _row("b/changed.txt", "changed.txt", pinned)
                        + _row("b/cut.txt", "cut.txt", good)
                        + _row("b/gone.txt", "gone.txt", good))
    files = {"/o/r/c0ffee/dir/good file.txt": good, "/o/r/c0ffee/dummy.zip": _zip({"inner/all.csv": member}),
             "/o/r/c0ffee/changed.txt": b"the other  bytes\n", "/o/r/c0ffee/cut.txt": good}
    out = tmp_path / "cache"
    args = ["--manifest", str(manifest), "--out", str(out), "--tries", "2", "--backoff", "0"]
    with RawHost(files, cut={"/o/r/c0ffee/cut.txt"}) as host:
        assert main([*args, "--base-url", host.url]) == 2
        err = capsys.readouterr().err.splitlines()
        assert (out / "a" / "good.txt").read_bytes() == good
        assert (out / "a" / "member.csv").read_bytes() == member
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
            ["a/good.txt", "a/member.csv"]                           # nothing kept of the bad ones, no temp file
        assert len(err) == 3 and [line.split(":")[1].strip() for line in err] == \
            ["b/changed.txt", "b/cut.txt", "b/gone.txt"]
        assert "sha256" in err[0] and "not kept" in err[0]
        assert "ChunkedEncodingError" in err[1] and "(2 tries)" in err[1]        # cut short, retried
        assert "HTTP 404" in err[2]
        assert host.hits["/o/r/c0ffee/cut.txt"] == 2 and host.hits["/o/r/c0ffee/gone.txt"] == 1   # no retry on 404
        main([*args, "--base-url", host.url])                         # a second run fetches only what is missing
        assert host.hits["/o/r/c0ffee/dir/good file.txt"] == 1


def test_the_release_short_prompts_are_its_one_line_stack_exchange_prompts(tmp_path):
    rows = [{"conversations": ["How do I undo a git commit?", "a"], "source": "stackexchange"},
            {"conversations": ["A title\n\nwith a body", "a"], "source": "stackexchange"},
            {"conversations": ["x" * 150, "a"], "source": "stackexchange"},
            {"conversations": ["How to tie a tie?", "a"], "source": "wikihow"},
            {"conversations": ["Understanding the Rails Authenticity Token ", "a"], "source": "stackexchange"}]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert short_prompts(train) == "How do I undo a git commit?\nUnderstanding the Rails Authenticity Token\n"
    assert main(["--manifest", str(_empty_manifest(tmp_path)), "--out", str(tmp_path / "c"),
                 "--lima-release", str(tmp_path)]) == 0
    assert (tmp_path / "c" / "lima_se_short_prompts.txt").read_text() == short_prompts(train)
    assert main(["--manifest", str(_empty_manifest(tmp_path)), "--out", str(tmp_path / "c"),
                 "--lima-release", str(tmp_path / "nowhere")]) == 2


def _empty_manifest(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("file\trepository\tpath\tcommit\tsize\tsha256\n")
    return path


@pytest.mark.skipif(not REALDATA.is_dir() or shutil.which("make") is None,
                    reason="needs the developers' copy of the real files to serve, and make")
def test_make_realdata_fetches_every_pinned_file_into_a_cache_the_tests_use(tmp_path):
    files = {}
    for src in read_manifest():
        archive, _, member = src.path.partition("!")
        data = (REALDATA / src.file).read_bytes()
        files[f"/{src.repository}/{src.commit}/{archive}"] = _zip({member: data}) if member else data
    cache = tmp_path / "realdata"
    with RawHost(files) as host:
        proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "realdata",
                               f"REALDATA_DIR={cache}", f"REALDATA_URL={host.url}", "LIMA_RELEASE="],
                              cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _holds_every_real_file(cache)
    for src in read_manifest():
        assert (cache / src.file).read_bytes() == (REALDATA / src.file).read_bytes(), src.file
