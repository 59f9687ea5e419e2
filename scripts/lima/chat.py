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


# ---- Stanford Alpaca's prompt format (the Alpaca-65B baseline's own recipe, §4.2) -----------------
# A data format, so its exact text: the preamble and the `### Instruction:` / `### Input:` /
# `### Response:` sections of Stanford Alpaca's training code. The response follows `### Response:`
# directly and ends with our EOT (Stanford ends it with the base's EOS; EOT keeps one stop token for
# every export, docs/training.md#the-alpaca-65b-baseline-42).
ALPACA_PROMPT_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:")
ALPACA_PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:")
# The export's template for the same format: the first user message as the instruction (a chat message
# has no input field), then the response and EOT when the assistant's turn is given.
ALPACA_CHAT_TEMPLATE = (
    "{{ bos_token if bos_token else '' }}"
    "{{ '" + ALPACA_PROMPT_NO_INPUT.split("{instruction}")[0].replace("\n", "\\n") + "' }}"
    "{{ messages[0]['content'] }}"
    "{{ '" + ALPACA_PROMPT_NO_INPUT.split("{instruction}")[1].replace("\n", "\\n") + "' }}"
    "{% if messages | length > 1 %}{{ messages[1]['content'] }}" + EOT + "{% endif %}"
)


def alpaca_prompt(instruction: str, input_text: str = "") -> str:
    if input_text:
        return ALPACA_PROMPT_INPUT.format(instruction=instruction, input=input_text)
    return ALPACA_PROMPT_NO_INPUT.format(instruction=instruction)


def alpaca_sections(row: dict) -> tuple[str, str]:
    """(instruction, input) of a row: kept apart in `meta` by the Alpaca reader, otherwise the first
    user turn is the instruction and there is no input."""
    meta = row.get("meta") or {}
    if "instruction" in meta:
        return meta["instruction"], meta.get("input", "")
    return row["conversations"][0], ""


def _bos(tokenizer) -> list[int]:
    return [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []


def alpaca_prompt_ids(tokenizer, instruction: str, input_text: str = "") -> list[int]:
    return _bos(tokenizer) + tokenizer.encode(alpaca_prompt(instruction, input_text), add_special_tokens=False)


def render_alpaca(tokenizer, row: dict, max_len: int) -> Rendered:
    """One exchange in Stanford's format: the prompt and response tokenized as one text, the
    prompt's tokens masked (as Stanford's code masks the source), the response and its EOT supervised.
    Alpaca is single-turn: a longer conversation trains on its first exchange."""
    instruction, input_text = alpaca_sections(row)
    prompt = alpaca_prompt(instruction, input_text)
    n_prompt = len(_bos(tokenizer)) + len(tokenizer.encode(prompt, add_special_tokens=False))
    ids = _bos(tokenizer) + tokenizer.encode(prompt + row["conversations"][1], add_special_tokens=False)
    ids.append(tokenizer.convert_tokens_to_ids(EOT))
    labels = [IGNORE] * n_prompt + ids[n_prompt:]
    return Rendered(ids[:max_len], labels[:max_len], len(ids) > max_len)
