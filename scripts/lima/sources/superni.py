"""Super-NaturalInstructions: the paper's 50 natural-language-generation tasks, one random instance
each (§2.2; docs/data.md#super-naturalinstructions).

The task files carry no generation/classification field, so the rule is ours (documented here and
in docs/dataset.md). A task is kept when all of these hold:
  1. English: `Input_language`, `Output_language` and `Instruction_language` are all English only.
  2. Category: at least one of `Categories` is a generation type (`GENERATION_CATEGORIES`: the
     paper names summarization, paraphrasing and style transfer) and none names a classification
     type (`CLASSIFICATION_MARKERS`: "Classification", "Detection", "Sentiment", "Textual
     Entailment", ...).
  3. Output shape: free text, not labels. The median reference output has at least
     `MIN_MEDIAN_WORDS` words and at least `MIN_DISTINCT_RATIO` of the instances have a distinct
     first reference (a label set repeats: "A"/"B", "positive"/"negative").
The example: prompt = the definition, a blank line, the instance input; response = the instance's
first reference output.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from lima.errors import StageError
from lima.rng import make_rng

GENERATION_CATEGORIES = frozenset({
    "Summarization", "Paraphrasing", "Text Simplification", "Style Transfer", "Title Generation",
    "Question Generation", "Data to Text", "Story Composition", "Dialogue Generation",
    "Sentence Composition", "Poem Generation", "Explanation", "Question Rewriting",
    "Sentence Expansion", "Text Completion", "Grammar Error Correction", "Code to Text",
})
CLASSIFICATION_MARKERS = ("classification", "detection", "sentiment", "textual entailment",
                          "answer verification", "answerability", "coreference", "recognition",
                          "word analogy", "stance", "fact verification", "spam")
MIN_MEDIAN_WORDS = 4
MIN_DISTINCT_RATIO = 0.8
ENGLISH = ["English"]


@dataclass(frozen=True)
class Task:
    name: str
    path: Path
    data: dict


def load_tasks(folder: Path) -> list[Task]:
    """The `task*.json` files of a folder, by name; an unreadable one is a StageError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StageError(folder, "no such folder (Super-NaturalInstructions task files)")
    tasks = []
    for path in sorted(folder.glob("task*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise StageError(path, f"not a Super-NaturalInstructions task file: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("Instances"), list):
            raise StageError(path, "not a Super-NaturalInstructions task file: no `Instances` list")
        tasks.append(Task(path.stem, path, data))
    return tasks


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_output(instance) -> str | None:
    outs = _as_list(instance.get("output")) if isinstance(instance, dict) else []
    return outs[0] if outs and isinstance(outs[0], str) and outs[0].strip() else None


def task_verdict(data: dict) -> tuple[bool, str]:
    """(kept, reason): the rule of the module docstring, first failing condition named."""
    for field in ("Input_language", "Output_language", "Instruction_language"):
        if field in data and _as_list(data[field]) != ENGLISH:
            return False, "not_english"
    categories = [c for c in _as_list(data.get("Categories")) if isinstance(c, str)]
    if any(m in c.lower() for c in categories for m in CLASSIFICATION_MARKERS):
        return False, "classification_category"
    if not any(c in GENERATION_CATEGORIES for c in categories):
        return False, "not_generation_category"
    outputs = [o for o in map(_first_output, data.get("Instances", [])) if o is not None]
    if not outputs:
        return False, "no_instances"
    if statistics.median(len(o.split()) for o in outputs) < MIN_MEDIAN_WORDS:
        return False, "short_outputs"
    if len(set(outputs)) < MIN_DISTINCT_RATIO * len(outputs):
        return False, "label_like_outputs"
    return True, "generation"


def definition_of(data: dict) -> str:
    return "\n".join(d for d in _as_list(data.get("Definition")) if isinstance(d, str)).strip()


def to_example(task: Task, instance: dict) -> dict:
    prompt = f"{definition_of(task.data)}\n\n{str(instance.get('input', '')).strip()}".strip()
    return {
        "id": f"nlp/{instance.get('id') or task.name}",
        "source": "nlp",
        "conversations": [prompt, _first_output(instance)],
        "meta": {"task": task.name, "categories": _as_list(task.data.get("Categories")),
                 "instance_id": instance.get("id")},
    }


def superni_candidates(tasks: list[Task], seed: int, verdicts: dict) -> list[dict]:
    """One random instance of each kept task, the tasks in a seeded random order: the first N are
    the paper's N tasks, the rest refill. `verdicts` receives each task's (kept, reason)."""
    kept = []
    for task in tasks:
        ok, why = task_verdict(task.data)
        verdicts[task.name] = why
        if ok:
            kept.append(task)
    order = sorted(kept, key=lambda t: t.name)
    make_rng(seed, "superni", "tasks").shuffle(order)
    out = []
    for task in order:
        usable = [i for i in task.data["Instances"] if _first_output(i) is not None
                  and str(i.get("input", "")).strip()]
        if usable:
            out.append(to_example(task, make_rng(seed, "superni", task.name).choice(usable)))
    return out
