"""Ablations report (§5): each variant's 1-6 helpfulness (stage 06 with --judge likert and
5 samples per prompt, at the epoch stage 07 chose) as mean and 95% CI, plotted beside the paper's
3.83 / 3.49 / 3.33 (Fig. 5) and its 2K-32K plateau (Fig. 6). Without a judge nothing judged is plotted.

    python scripts/09_ablations.py --variants data/ablations/variants.json --results results \
        --run-prefix sample-abl- --prompts data/lima/test.jsonl --out results/sample-ablations
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lima.eval.ablations.report import plot_diversity, plot_quantity, render_ablation_report
from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.eval.preference.report import NO_JUDGE_LINE
from lima.io import atomic_write, write_json

NO_JUDGE = NO_JUDGE_LINE.replace("`make eval`", "`make ablations`")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", type=Path, required=True, help="variants.json of 09_ablation_data.py pools")
    p.add_argument("--results", type=Path, required=True, help="the results root holding <run-prefix><variant>/")
    p.add_argument("--run-prefix", required=True, help="run name before the variant, e.g. sample-abl-")
    p.add_argument("--prompts", type=Path, required=True, help="the test prompts the runs were evaluated on (names the eval files)")
    p.add_argument("--model", default="", help="the base model the variants were trained from (for the report)")
    p.add_argument("--out", type=Path, required=True, help="results/<profile>-ablations: ablations.json, plots, report/ablations.md")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise StageError(path, f"no {what} (run `make ablations`, which trains, selects and evaluates each variant)")
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise StageError(path, f"not JSON: {e}") from None


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    plan = read_json(args.variants, "variants.json")
    variants, n_prompts, samples, rater = [], None, None, None
    for v in plan["variants"]:
        run = args.results / f"{args.run_prefix}{v['name']}"
        epoch = read_json(run / "selection.json", "selection record")["choice"]
        ev = read_json(run / "eval" / f"{epoch}.{args.prompts.stem}.summary.json", "evaluation summary")
        likert = (ev.get("judged") or {}).get("likert")
        rater = rater or (ev.get("judge") or {}).get("model")
        n_prompts, samples = ev["n_prompts"], ev["samples"]
        role = v["role"]
        variants.append({**v, "run": run.name, "epoch": epoch, "eot_rate": ev["metrics"]["eot_rate"],
                         "likert": likert if likert and likert.get("mean") is not None else None,
                         "role": "quantity" if role == ["quantity"] else "diversity"})
    judged = all(v["likert"] for v in variants)
    plots = []
    if judged:
        diversity = [v for v in variants if v["requested"] == plan["size"]]
        quantity = sorted([v for v in variants if v["pool"] == "se-filtered" and v["requested"] in plan["sizes"]],
                          key=lambda v: v["requested"])
        args.out.mkdir(parents=True, exist_ok=True)
        plots = [plot_diversity(diversity, args.out / "ablation_diversity.png", rater).name,
                 plot_quantity(quantity, args.out / "ablation_quantity.png", rater).name]
    else:
        print(f"judge: {NO_JUDGE}")
    summary = {"model": args.model, "n_prompts": n_prompts, "samples": samples, "judged": judged,
               "plots": plots, "variants": variants}
    write_json(args.out / "ablations.json", summary)
    report = args.out / "report" / "ablations.md"
    text = render_ablation_report(summary, NO_JUDGE)
    with atomic_write(report) as f:
        f.write(text.replace("](ablation_", "](../ablation_"))
    scores = ", ".join(f"{v['name']} {v['likert']['mean']:.2f}" for v in variants if v["likert"]) or "not judged"
    print(f"ablations: {len(variants)} variants ({scores}); report {report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
