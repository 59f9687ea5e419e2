"""Make's prerequisites come from the scripts' imports (lima/deps.py -> .deps/scripts.mk): a newer
module puts exactly the stages that import it, directly or not, out of date, and the training
fingerprint covers the same files.

In a copy of the tracked files, every stage target of the Makefile is marked up to date with
`make -t` (a stand-in .venv stamp: nothing runs); then, for each project module, its mtime is set
newer and `make -q` is asked about each stage file that imports it. Make's database gives each
rule's own prerequisite list, checked against the import closure (an upstream stage's rerun would
hide a missing module from `make -q`).

Run: .venv/bin/python -m pytest -q tests/test_make_deps.py
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SCRIPTS, tracked_copy
from lima.deps import project_sources

# The goals from which every stage rule is reached: the chain, then the separate experiments and the
# human study's summary.
GOALS = ("all", "dialogue", "ablations", "format-ablation", "annotate-report")
STAGE_SCRIPT = re.compile(r"^scripts/(\d\d_\w+)\.py$")
ENV = {k: v for k, v in os.environ.items()
       if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "JUDGE_BASE_URL", "JUDGE_MODEL")}
# Sources, then targets, then the module under test: fixed times in the past, no clock skew.
T_SOURCES = time.time() - 10_000
T_TARGETS = T_SOURCES + 1_000
T_NEWER = T_SOURCES + 2_000

needs_make = pytest.mark.skipif(shutil.which("make") is None or not (ROOT / ".git").exists(),
                                reason="needs make and a git checkout")


def make(work, *args):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=work, env=ENV, capture_output=True, text=True)


def touch_everything(work: Path) -> set[str]:
    """`make -t GOALS` (creating the folders touch needs, as the stages would); the files it touched."""
    touched: set[str] = set()
    for _ in range(20):
        proc = make(work, "-k", "-t", *GOALS)
        touched |= set(re.findall(r"^touch (\S+)$", proc.stdout, re.M))
        if proc.returncode == 0:
            return touched
        missing = re.findall(r"touch: open: (\S+): No such file or directory", proc.stderr)
        assert missing, proc.stderr[-2000:]
        for f in missing:
            (work / f).parent.mkdir(parents=True, exist_ok=True)
    raise AssertionError("make -t never finished")


def stage_rules(work: Path) -> dict[str, dict]:
    """From Make's database: every file target whose prerequisites name one numbered script, with
    its prerequisites and the siblings of its grouped rule. SUBRUN=: keeps the variant runs'
    sub-makes out (their rules are the same ones, with another RUN)."""
    db = make(work, "-p", "-n", "SUBRUN=:", *GOALS).stdout.splitlines()
    rules = {}
    for i, line in enumerate(db):
        target, sep, prereqs = line.partition(": ")
        if not sep or line.startswith(("#", "\t", " ")) or re.search(r"[\s%=]", target) or prereqs.startswith("="):
            continue
        deps = prereqs.split("|")[0].split()
        scripts = [m.group(1) for d in deps if (m := STAGE_SCRIPT.match(d))]
        if len(scripts) != 1:                  # .deps/scripts.mk names them all; most targets none
            continue
        siblings = set()
        for follow in db[i + 1:i + 4]:
            if follow.startswith("#  Also makes:"):
                siblings = set(follow.split(":", 1)[1].split())
        rules[target] = {"script": scripts[0], "deps": set(deps), "group": siblings | {target}}
    return rules


@pytest.fixture(scope="module")
def stamped(tmp_path_factory):
    """A copy of the repository with every stage target up to date, and the stage rules read from Make."""
    work = tracked_copy(tmp_path_factory.mktemp("repo"))
    (work / ".venv").mkdir()
    (work / ".venv" / ".installed").touch()
    touched = touch_everything(work)
    rules = stage_rules(work)
    for rule in rules.values():         # make -t touches one file of a grouped rule: the others too
        for f in rule["group"] - touched:
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            (work / f).touch()
            touched.add(f)
    for p in work.rglob("*"):
        if p.is_file():
            os.utime(p, (T_SOURCES, T_SOURCES))
    for f in touched | {".deps/scripts.mk", ".venv/.installed"}:
        os.utime(work / f, (T_TARGETS, T_TARGETS))
    closures = {s: {p.relative_to(work).as_posix() for p in project_sources(work / "scripts" / f"{s}.py", work / "scripts")}
                for s in {r["script"] for r in rules.values()}}
    return work, rules, closures


def question(work, goals: list[str]) -> list[int]:
    """`make -q` on each goal, in one shell: the exit codes. The dependency file is held old (its list
    is current), and so is FORCE, which the variant runs' selections name to always enter their
    sub-make: the report and the experiments' fragments would never be up to date otherwise."""
    lines = [f"make --no-print-directory -q -o .deps/scripts.mk -o FORCE {g}; echo $?" for g in goals]
    out = subprocess.run(["bash", "-c", "\n".join(lines)], cwd=work, env=ENV, capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@needs_make
def test_every_stage_the_makefile_runs_is_found_with_its_sources(stamped):
    work, rules, closures = stamped
    makefile = (work / "Makefile").read_text()
    # `make chat` (11_chat.py) is a conversation in the terminal: it writes no stage file to be out of date
    run_in_recipes = set(re.findall(r"scripts/(\d\d_\w+)\.py", makefile)) - {"11_chat"}
    found = {r["script"] for r in rules.values()}
    assert found == run_in_recipes == set(re.findall(r"\$\(SRC_(\w+)\)", makefile))
    assert len(rules) >= 15      # 00-05, the dev generations, 07, 06, 08, 10, 09 data/eval/report/format
    for target, rule in rules.items():
        assert closures[rule["script"]] <= rule["deps"], (target, closures[rule["script"]] - rule["deps"])
        assert "scripts/lima/__init__.py" in rule["deps"]      # packages' __init__ files count


@pytest.mark.slow
@needs_make
def test_a_newer_module_puts_every_stage_importing_it_out_of_date(stamped):
    """The rule-by-rule precision is the test above (Make's own prerequisite lists); this one is
    Make's answer, module by module."""
    work, rules, closures = stamped
    assert question(work, [" ".join(sorted(rules))]) == [0], "not everything is up to date"
    modules = sorted(set().union(*closures.values()))
    assert len(modules) > 30 and all(m.startswith("scripts/") for m in modules)
    for module in modules:
        importing = sorted(t for t, r in rules.items() if module in closures[r["script"]])
        os.utime(work / module, (T_NEWER, T_NEWER))
        try:
            codes = question(work, importing)
        finally:
            os.utime(work / module, (T_SOURCES, T_SOURCES))
        assert codes == [1] * len(importing), (module, [t for t, c in zip(importing, codes) if c != 1])
    assert question(work, [" ".join(sorted(rules))]) == [0]


@pytest.mark.slow
@needs_make
def test_lima_deps_agrees_with_what_importing_the_scripts_loads(stamped):
    """An independent derivation: import each script (not as __main__) and read sys.modules. Imports
    inside functions do not run then, so the modules loaded are a subset of lima.deps' closure."""
    work = stamped[0]
    probe = r"""
import json, runpy, sys
from pathlib import Path
scripts = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(scripts))
def ours():
    return {n: m for n, m in sys.modules.items() if str(getattr(m, "__file__", None) or "").startswith(str(scripts) + "/")}
out = {}
for s in sorted(scripts.glob("[0-9][0-9]_*.py")):
    for name in ours():
        del sys.modules[name]                # each script imports the project afresh
    runpy.run_path(str(s), run_name="imported_by_test")
    out[s.name] = sorted(str(Path(m.__file__).resolve()) for m in ours().values())
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", probe, str(work / "scripts")], cwd=work, env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.splitlines()[-1])
    assert len(loaded) >= 13
    for script, files in loaded.items():
        static = {str(p) for p in project_sources(work / "scripts" / script, work / "scripts")}
        assert files and set(files) <= static, (script, set(files) - static)


@needs_make
def test_report_of_a_variant_run_names_the_profiles_data_fragment(stamped):
    work = stamped[0]
    plan = make(work, "-n", "report", "RUN=sample-variant").stdout
    recipe = " ".join(plan[plan.index("scripts/08_report.py"):].replace("\\\n", " ").split())
    assert "--results results/sample-variant " in recipe, recipe
    assert "--fragments results/sample/report/data.md" in recipe, recipe


# ---- the dependency file itself: a fresh clone, help and clean, a new import, a deleted module --------

@pytest.fixture
def fresh(tmp_path):
    if shutil.which("make") is None or not (ROOT / ".git").exists():
        pytest.skip("needs make and a git checkout")
    work = tracked_copy(tmp_path / "repo")
    (work / ".venv").mkdir()
    (work / ".venv" / ".installed").touch()
    return work


def src_line(work, script):
    text = (work / ".deps" / "scripts.mk").read_text()
    return re.search(rf"^SRC_{script} := (.*)$", text, re.M).group(1).split()


def test_goals_that_run_no_stage_neither_need_nor_write_the_dependency_file(fresh):
    for goal in ([], ["help"], ["variables"], ["clean"]):
        proc = make(fresh, *goal, "PYTHON_SYS=false")         # no Python needed either
        assert proc.returncode == 0, (goal, proc.stderr)
        assert not (fresh / ".deps").exists(), goal
    assert "test-fast" in make(fresh, "help").stdout and not (fresh / "data" / "interim").exists()


def test_a_dry_run_on_a_fresh_clone_derives_the_prerequisites_and_clean_removes_them(fresh):
    proc = make(fresh, "-n", "data")
    assert proc.returncode == 0, proc.stderr
    assert "scripts/04_build_dataset.py" in proc.stdout
    assert "scripts/lima/dataset/assembly.py" in src_line(fresh, "04_build_dataset")
    assert not (fresh / "data" / "interim").exists()          # the dry run wrote nothing else
    assert make(fresh, "clean").returncode == 0 and not (fresh / ".deps").exists()


def test_a_new_import_is_picked_up_and_a_deleted_module_does_not_stop_make(fresh):
    goal = "data/interim/stackexchange.jsonl"
    assert make(fresh, "-n", goal).returncode == 0
    deps_time = (fresh / ".deps" / "scripts.mk").stat().st_mtime
    assert "scripts/lima/extra_probe.py" not in src_line(fresh, "01_stackexchange")
    (fresh / "scripts" / "lima" / "extra_probe.py").write_text("X = 1\n")
    module = fresh / "scripts" / "lima" / "funnel.py"
    original = module.read_text()
    module.write_text(original + "\n\ndef _probe():\n    from . import extra_probe\n    return extra_probe.X\n")
    for p in (module, fresh / "scripts" / "lima" / "extra_probe.py"):
        os.utime(p, (deps_time + 5, deps_time + 5))
    proc = make(fresh, "-n", goal)
    assert proc.returncode == 0, proc.stderr
    assert "scripts/lima/extra_probe.py" in src_line(fresh, "01_stackexchange")    # a relative import in a function
    # The module goes and the import with it, but the dependency file is left stale (older files):
    # Make reruns the stage rather than stopping at "No rule to make target".
    (fresh / "scripts" / "lima" / "extra_probe.py").unlink()
    module.write_text(original)
    os.utime(module, (deps_time, deps_time))
    os.utime(fresh / ".deps" / "scripts.mk", (deps_time + 10, deps_time + 10))
    proc = make(fresh, "-n", goal)
    assert proc.returncode == 0 and "No rule" not in proc.stderr, proc.stderr
    assert "scripts/01_stackexchange.py" in proc.stdout


# ---- lima.deps on a hand-made tree: the import forms -------------------------------------------------

def test_project_sources_follows_every_import_form(tmp_path):
    root = tmp_path / "scripts"
    files = {
        "01_x.py": "import lima.a\nfrom lima.pkg import mod\nfrom lima import b as bee\n",
        "lima/__init__.py": "",
        "lima/a.py": "import os\nfrom .pkg.sub import helper\n",
        "lima/b.py": "def f():\n    from lima import c\n    return c\n",
        "lima/c.py": "",
        "lima/pkg/__init__.py": "from . import rel\n",
        "lima/pkg/mod.py": "from ..d import thing\n",
        "lima/pkg/rel.py": "",
        "lima/pkg/sub.py": "def helper():\n    pass\n",
        "lima/d.py": "thing = 1\nfrom ... import nowhere\n",
        "lima/unused.py": "",
        "lima/broken.py": "def (:\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    got = {p.relative_to(root).as_posix() for p in project_sources(root / "01_x.py", root)}
    assert got == set(files) - {"lima/unused.py", "lima/broken.py"}
    (root / "lima" / "c.py").write_text("import lima.broken\n")
    assert "lima/broken.py" in {p.relative_to(root).as_posix() for p in project_sources(root / "01_x.py", root)}


# ---- the training fingerprint covers the same closure ------------------------------------------------

def test_training_fingerprint_changes_with_every_module_of_its_closure(tmp_path):
    from lima.train.checkpoint import fingerprint
    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    code = project_sources(scripts / "05_train.py", scripts)
    names = {p.relative_to(scripts).as_posix() for p in code}
    assert {"05_train.py", "lima/deps.py", "lima/train/checkpoint.py", "lima/train/loss.py", "lima/__init__.py"} <= names
    before = fingerprint(code, {"lr": 1e-5})
    for path in code:
        text = path.read_bytes()
        path.write_bytes(text + b"\n# changed\n")
        try:
            assert fingerprint(code, {"lr": 1e-5}) != before, path
        finally:
            path.write_bytes(text)
    assert fingerprint(code, {"lr": 1e-5}) == before


@needs_make
@pytest.mark.parametrize("spec", ["", "all", "5-10,last", "3,7", "1-3, 12,last", "last", "9-20"])
def test_the_makefile_asks_for_dev_generations_of_exactly_the_epochs_training_exports(spec):
    """The Makefile reads KEEP_EPOCHS in shell (it must know the dev targets before Python runs);
    it has to name the epochs stage 05's own parser exports, no more (a target nobody makes) and
    no fewer (an epoch left out of Appendix B)."""
    from lima.train.checkpoint import parse_keep
    proc = make(ROOT, "-qp", "help", f"KEEP_EPOCHS={spec}", "EPOCHS=12")     # `help` runs no stage, writes nothing
    line = re.search(r"^DEV_GENS := (.*)$", proc.stdout, re.M)
    assert line, proc.stderr[-2000:]
    asked = sorted(int(m) for m in re.findall(r"epoch_(\d\d)\.md", line.group(1)))
    assert asked == sorted(parse_keep(spec or "5-10,last", 12))
