"""Talking to a model in a terminal (`make chat`): the exported chat template, the paper's decoding
(§4.1, through the same decode loop as stage 06, so what a reviewer sees is what the evaluation
draws), multi-turn history and a few slash commands.

A stage-05 export is prompted exactly as stage 06 prompts it (`lima.chat.prompt_ids`, which renders
what the exported template renders). A base model (no end-of-turn token, no template) gets plain
continuation: the transcript so far, the new line appended, continued until EOS or the token limit.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lima.chat import EOT
from lima.eval.generation.generate import Decoding, Job, fit_prompt, generate_batch
from lima.io import write_jsonl
from lima.train.recipes import export_recipe, generation_prompt

HELP = ("commands: /reset (forget the conversation), /save FILE (the conversation as a test-prompt row), "
        "/params (the decoding), /quit or Ctrl-D (leave)")


def has_template(tok) -> bool:
    """A stage-05 export: its tokenizer knows the end-of-turn token and carries a chat template."""
    eot = tok.convert_tokens_to_ids(EOT)
    return bool(getattr(tok, "chat_template", None)) and eot is not None and eot != tok.unk_token_id


class TextStream:
    """Turns token ids into printable text as they arrive: the whole response is decoded each time
    and only the new tail is written (a SentencePiece or byte-level piece is not text on its own);
    a tail ending in an incomplete character waits for the next token."""

    def __init__(self, tok, write):
        self.tok, self.write = tok, write
        self.ids: list[int] = []
        self.shown = ""

    def push(self, token_id: int) -> None:
        self.ids.append(token_id)
        text = self.tok.decode(self.ids, skip_special_tokens=True).lstrip()
        if text.endswith("\ufffd") or not text.startswith(self.shown):
            return
        self.write(text[len(self.shown):])
        self.shown = text


@dataclass
class Reply:
    text: str
    n_new_tokens: int
    hit_limit: bool
    prompt_ids: list[int] = field(repr=False)
    prompt_trimmed: bool = False


class ChatSession:
    """One conversation with one model: its history, the prompt it builds, and a streamed reply."""

    def __init__(self, model, tok, *, source: str, decoding: Decoding = Decoding(), seed: int = 0,
                 device: torch.device = torch.device("cpu")):
        self.model, self.tok, self.source = model, tok, str(source)
        self.decoding, self.seed, self.device = decoding, seed, device
        self.templated = has_template(tok)
        self.recipe = export_recipe(source)    # an Alpaca-recipe export is prompted in Stanford's format
        self.eot_id = tok.convert_tokens_to_ids(EOT) if self.templated else tok.eos_token_id
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        self.max_positions = getattr(model.config, "max_position_embeddings", None) or 1 << 30
        self.history: list[str] = []   # user, assistant, user, ... (templated); transcript pieces otherwise
        self.turns = 0                 # replies drawn so far in this process (each its own random stream)

    def reset(self) -> None:
        self.history = []

    def build_prompt(self, user: str) -> list[int]:
        if self.templated:
            return generation_prompt(self.tok, self.recipe, self.history + [user])
        bos = [self.tok.bos_token_id] if self.tok.bos_token_id is not None else []
        return bos + self.tok.encode("\n".join(self.history + [user]), add_special_tokens=False)

    def reply(self, user: str, write=lambda s: None) -> Reply:
        """The model's answer to `user` after the history, streamed through `write`; both turns join
        the history."""
        ids, trimmed = fit_prompt(self.build_prompt(user), self.max_positions)
        stream = TextStream(self.tok, write)
        job = Job(0, f"chat/{self.turns}", 0, ids)
        eot = self.eot_id if self.eot_id is not None else -1
        res = generate_batch(self.model, [job], self.decoding, seed=self.seed, eot_id=eot, pad_id=self.pad_id,
                             device=self.device, on_token=lambda _job, t: stream.push(t))[0]
        self.turns += 1
        text = self.tok.decode(res.new_ids, skip_special_tokens=True).strip()
        self.history += [user, text]
        return Reply(text, len(res.new_ids), not res.ended_eot, ids, trimmed)

    def params(self) -> str:
        d = self.decoding
        kind = (f"chat template, {self.recipe} recipe" + (": single-turn, each line answered alone" if self.recipe == "alpaca" else "")
                if self.templated else "no chat template: plain continuation")
        return (f"model {self.source} ({kind}); "
                f"temperature {d.temperature}, top-p {d.top_p}, repetition penalty {d.repetition_penalty} "
                f"on generated tokens only, at most {d.max_new_tokens} new tokens, stop at "
                f"{EOT if self.templated else 'EOS'}; seed {self.seed}")

    def as_test_row(self) -> dict:
        """The conversation as a test-prompt row (docs/design.md#data-contract): the turns up to the last user
        turn; the last reply, the model and the decoding go in `meta.chat`."""
        turns, last = self.history[:-1], self.history[-1]
        digest = hashlib.sha1("\x1f".join(turns).encode()).hexdigest()[:12]
        return {"id": f"chat/{digest}", "source": "authors", "conversations": turns,
                "meta": {"chat": {"model": self.source, "last_response": last, "templated": self.templated,
                                  "decoding": self.decoding.to_dict(), "seed": self.seed}}}


def save_row(session: ChatSession, path: Path) -> str:
    if not session.history:
        return "nothing to save yet: say something first"
    if not session.templated:
        return "a base model's transcript is not a conversation: nothing saved"
    write_jsonl(path, [session.as_test_row()])
    return f"saved {len(session.history) // 2} exchange(s) to {path} as a test-prompt row"


def command(session: ChatSession, line: str, say) -> bool:
    """Runs a slash command; False when the chat should end."""
    name, _, arg = line.partition(" ")
    if name in ("/quit", "/exit"):
        return False
    if name == "/reset":
        session.reset()
        say("(conversation forgotten)")
    elif name == "/params":
        say(session.params())
    elif name == "/save":
        say(save_row(session, Path(arg.strip())) if arg.strip() else "usage: /save FILE")
    else:
        say(HELP)
    return True


def run_chat(session: ChatSession, *, read=input, out=sys.stdout, show_prompt: bool = False) -> None:
    """The read-answer loop: a line is a user turn unless it starts with '/'; Ctrl-D ends it."""
    def say(text: str) -> None:
        print(text, file=out, flush=True)

    say(session.params() if session.templated else
        f"{session.source} has no chat template: plain continuation of what you type, no turns")
    say(HELP)
    while True:
        try:
            line = read("you> ").strip()
        except EOFError:
            say("")
            break
        if not line:
            continue
        if line.startswith("/"):
            if not command(session, line, say):
                break
            continue
        print("model> ", end="", file=out, flush=True)
        reply = session.reply(line, write=lambda s: print(s, end="", file=out, flush=True))
        say("")
        if show_prompt:
            say("[prompt] " + json.dumps(session.tok.decode(reply.prompt_ids, skip_special_tokens=False)))
        if reply.prompt_trimmed:
            say("[the conversation was longer than the model's window: its start was cut]")
        if reply.hit_limit:
            say(f"[cut at the token limit: {reply.n_new_tokens} new tokens, no end of turn]")
