"""Stage 01's steps: choose the sites, read them (in parallel), draw the examples, write the files.

The numbered script only parses its flags and calls these in order; everything that decides what
ends up in the output lives here, so it can be tested and reused without a command line.
"""
from __future__ import annotations

import logging
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

from lima.errors import StageError
from lima.funnel import Funnel, describe_inputs, write_stats
from lima.io import write_jsonl
from lima.progress import progress
from lima.rng import make_rng
from lima.sources.stackexchange.archive import MissingTable, SiteSource, find_sites, posts_blocks, table_blocks
from lima.sources.stackexchange.dialogues import comment_chains
from lima.sources.stackexchange.posts import SiteResult, collect_site, read_comments
from lima.sources.stackexchange.sampling import (TAU, draw_balanced, record_id, temperature_sample, to_dialogue,
                                                    to_record)
from lima.sources.stackexchange.sites import classify, site_key

log = logging.getLogger("lima.stackexchange")


@dataclass(frozen=True)
class ReadOptions:
    """How each site is read (picklable: it travels to the worker processes)."""
    reader: str = "auto"
    length_on: str = "html"
    max_questions_per_site: int = 100_000
    dialogues: bool = False
    seed: int = 0


@dataclass
class SiteJobs:
    jobs: list[tuple[SiteSource, str]]      # (site, category) in site order
    excluded: dict[str, str]                 # site -> why it is not read

    @property
    def inputs(self) -> list[Path]:
        return [s.path / "Posts.xml" if s.kind == "folder" else s.path for s, _ in self.jobs]


def choose_sites(dumps: Path, sites: str | None, default_category: str | None) -> SiteJobs:
    """The sites of `dumps` to read, each with its category (STEM/Other); `sites` narrows them."""
    sources = find_sites(dumps)
    wanted = {site_key(s) for s in sites.split(",") if s.strip()} if sites else None
    jobs, excluded = [], {}
    for src in sources:
        if wanted is not None and site_key(src.site) not in wanted:
            continue
        try:
            category, why = classify(src.site, default_category)
        except KeyError:
            raise StageError(src.path, f"unknown site {src.site!r}: add it to scripts/lima/sources/stackexchange/sites.py "
                             "or pass --default-category stem|other") from None
        if category is None:
            excluded[src.site] = why
            continue
        jobs.append((src, category))
    if wanted is not None:
        missing = wanted - {site_key(s.site) for s in sources}
        if missing:
            raise StageError(dumps, f"no dump for --sites {', '.join(sorted(missing))}")
    if not jobs:
        raise StageError(dumps, "no usable site (all excluded or filtered out)")
    return SiteJobs(jobs, excluded)


def read_site(job: tuple[SiteSource, str, ReadOptions]) -> SiteResult:
    """One site's qualifying and unfiltered pairs (and its comment chains when asked)."""
    src, category, opts = job
    res = collect_site(posts_blocks(src, opts.reader), str(src.path), src.site, category,
                       opts.length_on, opts.max_questions_per_site)
    if opts.dialogues and res.qualifying:
        try:
            comments = read_comments(table_blocks(src, "Comments.xml", opts.reader), str(src.path),
                                     {p["answer_id"] for p in res.qualifying}, res.read)
        except MissingTable:
            res.read["sites_without_comments"] += 1
            log.warning("%s: no Comments.xml, so no dialogues from this site", src.site)
            return res
        res.dialogues = [to_dialogue(c, opts.seed) for c in comment_chains(comments, res.qualifying)]
    return res


def read_sites(sites: SiteJobs, opts: ReadOptions, workers: int) -> list[SiteResult]:
    """Every site's result, in site order whatever the number of workers."""
    jobs = [(src, category, opts) for src, category in sites.jobs]
    if workers > 1 and len(jobs) > 1:
        with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
            return list(progress(pool.imap(read_site, jobs), total=len(jobs), desc="sites", unit="site"))
    return [read_site(job) for job in progress(jobs, desc="sites", unit="site")]


def draw(results: list[SiteResult], quotas: dict[str, int], seed: int, tau: float,
         excluded: dict[str, str]) -> tuple[list[dict], Funnel]:
    """Per category, temperature sampling over exchanges; the rows and the stage's funnel."""
    funnel = Funnel("stackexchange")
    records, quota_report, per_site = [], {}, {}
    for res in results:
        funnel.read.update(res.read)
        funnel.dropped.update(res.dropped)
        per_site[res.site] = {"category": res.category, "qualifying": len(res.qualifying),
                              "unfiltered": len(res.unfiltered), "sampled": 0,
                              "questions": res.read["questions"], "dropped": dict(sorted(res.dropped.items()))}
    for category, quota in quotas.items():
        pools = {r.site: r.qualifying for r in results if r.category == category}
        drawn = temperature_sample(pools, quota, make_rng(seed, "sample", category), tau)
        for pair in drawn:
            per_site[pair["site"]]["sampled"] += 1
        available = sum(len(v) for v in pools.values())
        quota_report[category] = {"quota": quota, "available": available, "kept": len(drawn),
                                  "shortfall": quota - len(drawn)}
        funnel.kept[category] = len(drawn)
        funnel.dropped["over_quota"] += available - len(drawn)
        if len(drawn) < quota:
            log.warning("%s: only %d qualifying pairs for a quota of %d", category, len(drawn), quota)
        records.extend(to_record(p, seed) for p in drawn)
    funnel.kept["total"] = len(records)
    funnel.notes.update({
        "quota": quota_report,
        "prompt_field": {f: sum(r["meta"]["prompt_field"] == f for r in records) for f in ("title", "body")},
        "sites": per_site,
        "excluded_sites": excluded,
    })
    return records, funnel


def _best_first(pairs):
    return sorted(pairs, key=lambda p: (-p["question_score"], site_key(p["site"]), p["question_id"]))


HELDOUT_SIZE = 2000    # Appendix B: perplexity on 2,000 held-out Stack Exchange examples


def write_pools(results: list[SiteResult], pools_dir: Path, seed: int, funnel: Funnel, drawn: list[dict] = (),
                tau: float = TAU, heldout_size: int = HELDOUT_SIZE) -> dict[str, int]:
    """The ablation pools (§5), best first across sites: every qualifying pair, and every top answer
    with no quality or style rule (meta.passes_filters says which of them qualify; the ablations
    draw from both with the sampler, by meta.site and meta.category). Also the held-out perplexity
    set (Appendix B): the same sampler over the qualifying pairs not `drawn` for the stage's output."""
    sizes = {}
    passing = {record_id(p) for r in results for p in r.qualifying}
    for name, attr in (("filtered", "qualifying"), ("unfiltered", "unfiltered")):
        rows = [to_record(p, seed) for p in _best_first(x for r in results for x in getattr(r, attr))]
        if name == "unfiltered":
            for row in rows:
                row["meta"]["passes_filters"] = row["id"] in passing
        sizes[name] = write_jsonl(pools_dir / f"stackexchange.{name}.jsonl", rows)
    taken = {r["id"] for r in drawn}
    groups: dict[str, dict[str, list]] = {}
    for r in results:
        rest = [p for p in r.qualifying if record_id(p) not in taken]
        groups.setdefault(r.category, {})[r.site] = rest
    heldout = [to_record(p, seed) for p in draw_balanced(groups, heldout_size, seed, ("heldout",), tau)]
    sizes["heldout"] = write_jsonl(pools_dir / "stackexchange.heldout.jsonl", heldout)
    funnel.notes["pools"] = sizes
    return sizes


def write_dialogues(results: list[SiteResult], path: Path, funnel: Funnel) -> None:
    dialogues = sorted((d for r in results for d in r.dialogues), key=lambda d: d["id"])
    write_jsonl(path, dialogues)
    funnel.notes["dialogues"] = {"chains": len(dialogues), "file": str(path)}


def write_target(out: Path, records: list[dict], funnel: Funnel, sites: SiteJobs, args, seed: int) -> None:
    """The stats, then the target file last (Make's stamp)."""
    write_stats(out, funnel, args=args, inputs=describe_inputs(sites.inputs), seed=seed)
    write_jsonl(out, records)
