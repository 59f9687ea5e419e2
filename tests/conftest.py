"""Shared test helpers: run a numbered script in-process, find the real third-party samples.

Run: .venv/bin/python -m pytest -q
"""
import json
import os
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
# Real third-party samples are never in the repository: `make realdata` fetches them (tests/realdata.tsv)
# into REALDATA_CACHE; the developers' machines keep a copy beside the project (REALDATA).
REALDATA_CACHE = ROOT / ".cache" / "realdata"
REALDATA = ROOT.parent / "shared" / "realdata"
SHORT_PROMPTS = "lima_se_short_prompts.txt"

os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_script(name: str, *args, expect_exit: int | None = 0) -> int:
    """Run scripts/<name> as __main__ with argv, return its exit code."""
    argv = [str(SCRIPTS / name), *map(str, args)]
    old = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(argv[0], run_name="__main__")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = old
    if expect_exit is not None:
        assert code == expect_exit, f"{name} exited {code}, expected {expect_exit}"
    return code


def tracked_copy(dest: Path) -> Path:
    """Copy what a fresh clone would hold (tracked files, and new ones git does not ignore; no build
    outputs) into dest."""
    import shutil
    import subprocess
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _holds_every_real_file(folder: Path) -> bool:
    from tools.fetch_realdata import read_manifest
    return folder.is_dir() and all((folder / src.file).is_file() for src in read_manifest())


@pytest.fixture
def realdata():
    """The folder of real samples (`make realdata`'s cache, else the developers' copy), or a skip."""
    for folder in (REALDATA_CACHE, REALDATA):
        if _holds_every_real_file(folder):
            return folder
    pytest.skip("no real third-party samples: `make realdata` fetches them into .cache/realdata/")


@pytest.fixture
def release_short_prompts():
    """The GAIR/lima release's one-line Stack Exchange prompts (derived by `make realdata`), or a skip."""
    for folder in (REALDATA_CACHE, REALDATA):
        if (folder / SHORT_PROMPTS).is_file():
            return folder / SHORT_PROMPTS
    pytest.skip(f"no {SHORT_PROMPTS}: `make realdata LIMA_RELEASE=<folder with GAIR/lima's train.jsonl>` derives it")


def read_export(folder: Path) -> dict:
    """Every tensor of an export (or any safetensors model folder): the whole model in memory."""
    from safetensors.torch import load_file
    out = {}
    for f in sorted(Path(folder).glob("*.safetensors")):
        out.update(load_file(f))
    return out


@pytest.fixture
def stand_in():
    """An OpenAI-compatible judge stand-in on 127.0.0.1 (judge_standin.py), stopped after the test."""
    from judge_standin import StandIn
    with StandIn() as s:
        yield s


# ---- a toy fine-tuning task shared by the training and generation tests ---------------------------
TOY_TEXTS = [f"The number {i} is {'even' if i % 2 == 0 else 'odd'}. Bread needs flour, water and salt." for i in range(200)]


def write_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def toy_rows(n=40):
    """"Is i even?" -> "i is even." rows: learnable by a tiny model in a few epochs, EOT included."""
    return [{"id": f"t/{i}", "source": "authors",
             "conversations": [f"Is {i} even?", f"{i} is {'even' if i % 2 == 0 else 'odd'}."]} for i in range(n)]


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """A tiny untrained base (base/) with toy train.jsonl and dev.jsonl beside it."""
    from lima.base.tiny import make_tiny_base
    d = tmp_path_factory.mktemp("toy")
    make_tiny_base(TOY_TEXTS, d / "base")
    rows = toy_rows()
    write_rows(d / "train.jsonl", rows)
    write_rows(d / "dev.jsonl", rows[:6])
    return d


@pytest.fixture(scope="session")
def ckpt(tmp_path_factory, toy):
    """The toy base fine-tuned on "Is i even?" -> "i is even." (it learns to stop at EOT), and prompts."""
    d = tmp_path_factory.mktemp("eval_ckpt")
    (d / "base").symlink_to(toy / "base")
    run_script("05_train.py", "--model", d / "base", "--train", toy / "train.jsonl", "--dev", toy / "dev.jsonl",
               "--out", d / "run", "--results", d / "run_results", "--epochs", "3", "--batch-size", "8",
               "--lr", "1e-2", "--final-lr", "1e-3", "--max-len", "64", "--keep-epochs", "all",
               "--resid-dropout", "0")
    prompts = [{"id": f"p/{i:02d}", "source": "authors", "conversations": [text], "meta": {}}
               for i, text in enumerate(["Is 12 even?", "Is 7 even?", "Is 130 even? Tell me why, please.",
                                         "Bread needs what?", "Is 3 even?", "The number 5", "Is 1000 even or odd?"])]
    prompts.append({"id": "p/dev", "source": "authors", "conversations": ["Is 9 even?", "9 is odd."], "meta": {}})
    write_rows(d / "test.jsonl", prompts)
    return d
