"""The chat format of the paper (§3; docs/design.md#chat-format-and-eot): BOS u1 EOT a1 EOT u2 EOT ...

Each utterance is followed by a new end-of-turn token; EOS is not used between turns. The loss covers
assistant tokens and their EOT only. Utterances are tokenized one by one and concatenated, so the
supervised spans come from the construction itself rather than from offsets into a rendered string
(the usual source of silent masking bugs, docs/design.md#pitfalls-the-training-code-avoids).
Each utterance is tokenized as it stands in the rendered chat, that is after a special token (BOS or
EOT): a SentencePiece tokenizer adds a prefix space to a text it sees alone but not to one after a
special token, and the exported chat template tokenizes the whole rendered string.
"""
from __future__ import annotations

from dataclasses import dataclass

EOT = "<|eot|>"
PAD = "<|pad|>"
IGNORE = -100

# Renders exactly what render_conversation trains on; the exported tokenizer carries it, so
# `apply_chat_template(..., add_generation_prompt=True)` gives the prompt the model expects.
CHAT_TEMPLATE = (
    "{{ bos_token if bos_token else '' }}"
    "{% for message in messages %}{{ message['content'] }}" + EOT + "{% endfor %}"
)


@dataclass
class Rendered:
    input_ids: list[int]
    labels: list[int]
    trimmed: bool


def encode_turn(tokenizer, text: str, after_special: bool) -> list[int]:
    """The ids of `text` as the tokenizer reads it inside the rendered chat: after a special token
    (EOT stands in for any, the tokenizer splits on each the same way), or at the very start."""
    if not after_special:
        return tokenizer.encode(text, add_special_tokens=False)
    eot = tokenizer.convert_tokens_to_ids(EOT)
    ids = tokenizer.encode(EOT + text, add_special_tokens=False)
    assert ids[0] == eot, "EOT must be a special token of this tokenizer"
    return ids[1:]


def render_conversation(tokenizer, conversation: list[str], max_len: int) -> Rendered:
    """Token ids and labels of one conversation (user, assistant, user, ...); texts longer than
    `max_len` tokens are trimmed, keeping the start (§3)."""
    eot = tokenizer.convert_tokens_to_ids(EOT)
    ids: list[int] = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    labels: list[int] = [IGNORE] * len(ids)
    for turn, text in enumerate(conversation):
        piece = encode_turn(tokenizer, text, after_special=bool(ids)) + [eot]
        ids.extend(piece)
        labels.extend(piece if turn % 2 == 1 else [IGNORE] * len(piece))
    trimmed = len(ids) > max_len
    return Rendered(ids[:max_len], labels[:max_len], trimmed)


def prompt_ids(tokenizer, conversation: list[str]) -> list[int]:
    """The ids a model sees before it answers the last user turn."""
    eot = tokenizer.convert_tokens_to_ids(EOT)
    ids = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    for text in conversation:
        ids.extend(encode_turn(tokenizer, text, after_special=bool(ids)) + [eot])
    return ids


def show_example(tokenizer, r: Rendered, width: int = 400) -> str:
    """A decoded example with the supervised part in [[...]], printed at start-up as a self-check."""
    out, cur, sup = [], [], None
    for tok, lab in zip(r.input_ids, r.labels):
        s = lab != IGNORE
        if sup is not None and s != sup:
            text = tokenizer.decode(cur, skip_special_tokens=False)
            out.append(f"[[{text}]]" if sup else text)
            cur = []
        cur.append(tok)
        sup = s
    if cur:
        text = tokenizer.decode(cur, skip_special_tokens=False)
        out.append(f"[[{text}]]" if sup else text)
    joined = "".join(out)
    return joined if len(joined) <= width else joined[:width] + " ..."
