"""The chat format on real tokenizer families: a SentencePiece LLaMA vocabulary (mistral-common's
tokenizer.model.v1, the LLaMA-style 32k one), SmolLM2's byte-level BPE, and tokenizers without BOS
(Qwen-style). For each, the exported tokenizer's chat template gives exactly the ids training
rendered and stage 06 feeds, and the supervised span decodes to the assistant text plus EOT.

Run: .venv/bin/python -m pytest -q tests/test_tokenizer_families.py
"""
import shutil

import pytest

from conftest import write_rows
from lima.chat import EOT, IGNORE, prompt_ids, render_conversation
from lima.errors import StageError
from lima.train.model import load_tokenizer
from test_real_checkpoint import smollm2  # noqa: F401  (the converted SmolLM2 folder, a fixture)

CONVERSATIONS = [
    ["Is 4 even?", "4 is even."],
    ["  Leading spaces and a trailing one ", "Yes:\n\n* one\n* two\n", "And café, naïve, 東京?", " A space first."],
    ["Code?", "```python\nprint('hi')\n```"],
]


def sentencepiece_folder(tmp_path):
    pytest.importorskip("sentencepiece")
    pytest.importorskip("google.protobuf")
    from importlib.metadata import PackageNotFoundError, files
    try:
        model = next(f for f in files("mistral-common") or [] if str(f).endswith("tokenizer.model.v1"))
    except (PackageNotFoundError, StopIteration):
        pytest.skip("mistral-common is not installed (requirements-test.txt)")
    from transformers import LlamaTokenizerFast
    src = tmp_path / "sp_src"
    src.mkdir()
    shutil.copy(model.locate(), src / "tokenizer.model")
    LlamaTokenizerFast.from_pretrained(src).save_pretrained(tmp_path / "sp")
    return tmp_path / "sp"


def without_bos(folder, dest):
    """A copy of a tokenizer with no BOS token at all, as Qwen's."""
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    tok.bos_token = None
    tok.add_bos_token = False
    tok.save_pretrained(dest)
    return dest


@pytest.fixture(params=["sentencepiece", "sentencepiece-no-bos", "byte-bpe", "byte-bpe-no-bos"])
def family(request, tmp_path):
    if request.param.startswith("sentencepiece"):
        folder = sentencepiece_folder(tmp_path)
    else:
        folder = request.getfixturevalue("smollm2")
    if request.param.endswith("no-bos"):
        folder = without_bos(folder, tmp_path / "no_bos")
    return request.param, folder


@pytest.mark.slow
def test_exported_template_gives_the_trained_ids_and_the_span_is_the_answer_and_eot(family, tmp_path):
    from transformers import AutoTokenizer
    name, folder = family
    tok = load_tokenizer(folder)
    assert (tok.bos_token_id is None) == name.endswith("no-bos")
    tok.save_pretrained(tmp_path / "export")                    # what export_model writes
    exported = AutoTokenizer.from_pretrained(tmp_path / "export")
    eot = exported.convert_tokens_to_ids(EOT)
    for conv in CONVERSATIONS:
        r = render_conversation(tok, conv, 4096)
        messages = [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(conv)]
        full = exported.apply_chat_template(messages, tokenize=True, return_dict=False)
        assert list(full) == r.input_ids, name
        # stage 06: the prompt before the last assistant turn, as fed to the model
        prompt = exported.apply_chat_template(messages[:-1], tokenize=True, add_generation_prompt=True,
                                              return_dict=False)
        assert list(prompt) == prompt_ids(tok, conv[:-1]) == r.input_ids[:len(prompt)]
        # the supervised spans, decoded: each assistant text and its EOT, nothing else (decoded after
        # the user's EOT that precedes them, as in the chat: SentencePiece drops a leading space at
        # the start of a decode call)
        spans, cur = [], []
        for i, lab in zip(r.input_ids, r.labels):
            if lab != IGNORE:
                cur.append(i)
                if i == eot:
                    spans.append(exported.decode([eot] + cur))
                    cur = []
        assert spans == [EOT + t + EOT for t in conv[1::2]], name


def test_a_vocabulary_holding_eot_as_ordinary_text_is_refused(toy, tmp_path):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(toy / "base")
    tok.add_tokens([EOT])                                       # a plain (not special) token
    tok.save_pretrained(tmp_path / "tok")
    with pytest.raises(StageError, match="ordinary token"):
        load_tokenizer(tmp_path / "tok")


def test_a_stage05_export_tokenizer_is_accepted_again(toy, tmp_path):
    tok = load_tokenizer(toy / "base")
    tok.save_pretrained(tmp_path / "again")
    again = load_tokenizer(tmp_path / "again")
    assert again.convert_tokens_to_ids(EOT) == tok.convert_tokens_to_ids(EOT) and len(again) == len(tok)
