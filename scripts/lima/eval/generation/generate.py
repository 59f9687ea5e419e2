"""Sampling responses from an exported checkpoint with the paper's decoding (§4.1).

Nucleus sampling p=0.9, temperature 0.7, a repetition penalty of 1.2 on previously *generated*
tokens only (the stock transformers processor also penalises prompt tokens), stop at EOT.

Why our own decode loop instead of `generate()`: every (seed, prompt id, sample index) owns a random
stream, so a response does not depend on which prompts share its batch or its rank. `generate()`
draws from one global generator for the whole batch. The loop keeps the batch on a KV cache with
left padding (position ids from the attention mask), and drops finished rows from the cache so a
long answer does not make the short ones pay for their padding.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass

import torch
from transformers import DynamicCache

from lima.progress import progress

log = logging.getLogger("lima.eval")


@dataclass(frozen=True)
class Decoding:
    temperature: float = 0.7          # §4.1
    top_p: float = 0.9                # §4.1: nucleus sampling
    repetition_penalty: float = 1.2   # §4.1: on previously generated tokens (Keskar et al., 2019)
    max_new_tokens: int = 2048        # §4.1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Job:
    """One response to draw: the prompt's ids and the identity of its random stream."""
    index: int
    prompt_id: str
    sample_idx: int
    ids: list[int]


@dataclass
class Result:
    index: int
    new_ids: list[int]      # without the final EOT
    ended_eot: bool


def stream_seed(seed: int, prompt_id: str, sample_idx: int) -> int:
    key = f"{seed}\x1f{prompt_id}\x1f{sample_idx}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") & ((1 << 63) - 1)


def penalize_generated(scores: torch.Tensor, generated: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL's penalty on the tokens in `generated` (batch, steps): a positive logit is divided by
    `penalty`, a negative one multiplied, once per distinct token."""
    if penalty == 1.0 or generated.shape[1] == 0:
        return scores
    picked = scores.gather(1, generated)
    picked = torch.where(picked < 0, picked * penalty, picked / penalty)
    return scores.scatter(1, generated, picked)


def sample_from(logits: torch.Tensor, uniforms: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """Temperature, then the smallest set of tokens whose probability reaches `top_p`, then one
    draw per row by inverting the CDF with that row's own uniform number (so the draw of a row
    depends only on its logits and its stream)."""
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    sorted_p, order = probs.sort(dim=-1, descending=True)
    before = sorted_p.cumsum(dim=-1) - sorted_p            # mass of the tokens ranked above
    sorted_p = sorted_p.masked_fill(before >= top_p, 0.0)  # the top token is always kept
    cdf = sorted_p.cumsum(dim=-1)
    pick = torch.searchsorted(cdf, (uniforms * cdf[:, -1]).unsqueeze(1).contiguous(), right=True)
    pick = pick.clamp(max=cdf.shape[1] - 1)
    return order.gather(1, pick).squeeze(1)


@torch.no_grad()
def generate_batch(model, jobs: list[Job], decoding: Decoding, *, seed: int, eot_id: int, pad_id: int,
                   device: torch.device, on_token=None) -> list[Result]:
    """Responses for `jobs` decoded together: left padding, KV cache, finished rows dropped.
    `on_token(job, token_id)` is called with each kept token as it is drawn (`make chat` streams)."""
    width = max(len(j.ids) for j in jobs)
    ids = torch.full((len(jobs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(jobs), width), dtype=torch.long)
    for r, job in enumerate(jobs):
        ids[r, width - len(job.ids):] = torch.tensor(job.ids)
        mask[r, width - len(job.ids):] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    streams = [torch.Generator().manual_seed(stream_seed(seed, j.prompt_id, j.sample_idx)) for j in jobs]
    max_pos = getattr(model.config, "max_position_embeddings", None) or 1 << 30
    budget = max(1, min(decoding.max_new_tokens, max_pos - width))

    active = list(range(len(jobs)))            # rows of `jobs` still in the batch, in cache order
    out: list[list[int]] = [[] for _ in jobs]
    ended = [False] * len(jobs)
    generated = torch.zeros((len(jobs), 0), dtype=torch.long, device=device)
    cache = DynamicCache(config=model.config)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                   use_cache=True).logits[:, -1, :]
    last_pos = positions[:, -1:]
    for _ in range(budget):
        logits = penalize_generated(logits.float(), generated, decoding.repetition_penalty)
        uniforms = torch.stack([torch.rand((), generator=streams[r]) for r in active]).to(logits.device)
        nxt = sample_from(logits, uniforms, decoding.temperature, decoding.top_p)
        keep = []
        for slot, r in enumerate(active):
            tok = int(nxt[slot])
            if tok == eot_id:
                ended[r] = True
            else:
                out[r].append(tok)
                keep.append(slot)
                if on_token is not None:
                    on_token(jobs[r], tok)
        if not keep or len(out[active[keep[0]]]) >= budget:
            break
        if len(keep) < len(active):
            sel = torch.tensor(keep, device=device)
            cache.batch_select_indices(sel)
            nxt, mask, last_pos, generated = nxt[sel], mask[sel], last_pos[sel], generated[sel]
            active = [active[s] for s in keep]
        generated = torch.cat([generated, nxt.unsqueeze(1)], dim=1)
        mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
        last_pos = last_pos + 1
        logits = model(input_ids=nxt.unsqueeze(1), attention_mask=mask, position_ids=last_pos,
                       past_key_values=cache, use_cache=True).logits[:, -1, :]
    return [Result(j.index, out[r], ended[r]) for r, j in enumerate(jobs)]


def plan_batches(jobs: list[Job], batch_size: int) -> list[list[Job]]:
    """Jobs sorted by prompt length (longest first, so memory peaks at once) in batches."""
    ordered = sorted(jobs, key=lambda j: (-len(j.ids), j.index))
    return [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]


def generate_all(model, jobs: list[Job], decoding: Decoding, *, seed: int, eot_id: int, pad_id: int,
                 device: torch.device, batch_size: int, show_progress: bool = True) -> list[Result]:
    results: list[Result] = []
    bar = progress(total=len(jobs), desc="generate", unit="resp", disable=None if show_progress else True)
    for batch in plan_batches(jobs, batch_size):
        results.extend(generate_batch(model, batch, decoding, seed=seed, eot_id=eot_id, pad_id=pad_id,
                                      device=device))
        bar.update(len(batch))
    bar.close()
    return sorted(results, key=lambda r: r.index)


def shard_jobs(jobs: list[Job], rank: int, world: int) -> list[Job]:
    """Every world-th job in length order, so each rank gets a similar mix of lengths."""
    ordered = sorted(jobs, key=lambda j: (-len(j.ids), j.index))
    return ordered[rank::world]


def fit_prompt(ids: list[int], max_positions: int, reserve: int = 1) -> tuple[list[int], bool]:
    """A prompt longer than the model's window keeps its end (the question being asked)."""
    room = max_positions - reserve
    if len(ids) <= room:
        return ids, False
    return ids[-room:], True


# ---- from prompt rows to generation rows -------------------------------------------------------

def prompt_turns(conversation: list[str]) -> list[str]:
    """What the model answers: the conversation up to its last user turn (a dev row's reference
    response is left out)."""
    return conversation if len(conversation) % 2 == 1 else conversation[:-1]


def load_checkpoint(ckpt, device: torch.device, device_map: str | None = None):
    """Model and tokenizer of a stage-05 export (safetensors only, never unpickled). With
    `device_map="auto"` a model too large for one GPU is spread over the node's GPUs."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ckpt)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    kwargs = {"dtype": dtype, "use_safetensors": True}
    if device_map:
        kwargs["device_map"] = device_map
    model = AutoModelForCausalLM.from_pretrained(ckpt, **kwargs)
    if not device_map:
        model.to(device)
    model.eval()
    return model, tok


def require_eot(tok, ckpt) -> int:
    """The id of the end-of-turn token, which every stage-05 export's tokenizer has."""
    from lima.chat import EOT
    from lima.errors import StageError

    eot = tok.convert_tokens_to_ids(EOT)
    if eot is None or eot == tok.unk_token_id:
        raise StageError(ckpt, f"the tokenizer has no {EOT} token: not a stage-05 export")
    return eot


def make_jobs(tokenizer, rows: list[dict], samples: int, max_positions: int, counts, recipe: str = "lima") -> list[Job]:
    """The prompts in the format of the recipe the model was trained with (lima/train/recipes.py)."""
    from lima.train.recipes import generation_prompt

    jobs = []
    for i, row in enumerate(rows):
        turns = prompt_turns(row["conversations"])
        if recipe == "alpaca" and len(turns) > 1:
            counts["prompt_last_turn_only"] += 1
        ids, trimmed = fit_prompt(generation_prompt(tokenizer, recipe, turns), max_positions)
        counts["prompt_trimmed_to_window"] += trimmed
        jobs.extend(Job(i * samples + s, row["id"], s, ids) for s in range(samples))
    return jobs


def generation_rows(tokenizer, rows: list[dict], results: list[Result], samples: int, decoding: dict) -> list[dict]:
    out = []
    for res in sorted(results, key=lambda r: r.index):
        row = rows[res.index // samples]
        out.append({"id": row["id"], "prompt": prompt_turns(row["conversations"])[-1],
                    "response": tokenizer.decode(res.new_ids, skip_special_tokens=True).strip(),
                    "sample_idx": res.index % samples, "n_new_tokens": len(res.new_ids),
                    "ended_eot": res.ended_eot, "decoding": decoding})
    return out


def api_generation_rows(client, rows: list[dict], samples: int, decoding: Decoding, seed: int) -> list[dict]:
    """Another system's responses from an OpenAI-compatible server, in the generation-row form (and
    usable as a baseline file). Nucleus and temperature as ours; the CTRL repetition penalty has no
    API equivalent and is not sent. Each sample asks with its own seed (servers may ignore it)."""
    params = {"temperature": decoding.temperature, "top_p": decoding.top_p, "max_tokens": decoding.max_new_tokens}
    jobs = [(row, s) for row in rows for s in range(samples)]

    def one(job):
        row, s = job
        turns = prompt_turns(row["conversations"])
        messages = [{"role": ("user", "assistant")[k % 2], "content": t} for k, t in enumerate(turns)]
        p = {**params, "seed": stream_seed(seed, row["id"], s) % (1 << 31)}
        ans = client.chat("generate", messages, key_parts=("generate", {"turns": turns, "sample_idx": s}),
                          params=p, item={"id": row["id"], "sample_idx": s})
        return {"id": row["id"], "prompt": turns[-1], "response": ans.text.strip(), "sample_idx": s,
                "n_new_tokens": ans.completion_tokens, "ended_eot": ans.finish_reason == "stop",
                "decoding": {**params, "api_model": client.model, "seed": seed}}

    return client.map(one, jobs)
