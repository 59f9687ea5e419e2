"""One torchrun worker of a peer trainer (the Hugging Face `Trainer` or TRL's `SFTTrainer`) on stage 05's
task, for scripts/bench/train_peers.py: same base weights (EOT/PAD rows at the mean embedding, as stage 05
adds them), same conversations, loss on assistant tokens and their EOT only, same optimizer and steps.

    torchrun --nproc_per_node 2 scripts/bench/peer_train.py --peer trl --model M --train T --dev D --out O.json ...

Each peer gets its own best settings for conversational SFT on CPU:
- trainer: `input_ids`/`labels` rendered by stage 05's chat code, `train_sampling_strategy="group_by_length"` (batches of similar
  lengths, little padding), `DataCollatorForSeq2Seq` padding to the longest in the micro-batch;
- trl: a conversational (`messages`) dataset, `assistant_only_loss` through a chat template with
  `{% generation %}` markers that renders LIMA's format, and `padding_free` (examples of a micro-batch
  concatenated in one row; transformers keeps them apart through `position_ids`); no packing, which
  would change how many conversations a step sees. Its defaults of bf16 autocast and activation
  checkpointing are turned off (fp32 and stored activations, like stage 05 and Trainer here).
Rank 0 writes per-step real-token throughput (timed from one optimizer step's end to the next, tokens
counted at the model's input on every rank) and, after the steps, the dev loss computed by stage 05's
own `evaluate` (target-token mean), so the three runs are scored the same way.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SCRIPTS))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from lima.chat import EOT, IGNORE  # noqa: E402
from lima.io import read_jsonl, write_json  # noqa: E402
from lima.train.data import render_all  # noqa: E402
from lima.train.loss import evaluate  # noqa: E402
from lima.train.model import load_tokenizer  # noqa: E402

# LIMA's format (lima/chat.py's CHAT_TEMPLATE) with the assistant turns and their EOT marked for TRL's
# assistant-only loss.
TRL_TEMPLATE = (
    "{{ bos_token if bos_token else '' }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] }}" + EOT + "{% endgeneration %}"
    "{% else %}{{ message['content'] }}" + EOT + "{% endif %}{% endfor %}"
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--peer", choices=("trainer", "trl"), required=True)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--train", type=Path, required=True)
    p.add_argument("--dev", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="rank 0's JSON: per-step figures and dev loss")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch-size", type=int, required=True, help="examples per optimizer step, all ranks")
    p.add_argument("--micro-batch-size", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--max-len", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def load_model(model_dir: Path, tok):
    """The base in fp32 with the EOT/PAD rows at the mean of the existing rows (stage 05's init)."""
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    old = model.get_input_embeddings().weight.shape[0]
    if len(tok) > old:
        model.resize_token_embeddings(len(tok), mean_resizing=False)
        with torch.no_grad():
            for emb in {id(m.weight): m.weight for m in (model.get_input_embeddings(), model.get_output_embeddings())}.values():
                emb[old:] = emb[:old].mean(dim=0, keepdim=True)
    model.config.use_cache = False
    model.config.pad_token_id = tok.pad_token_id
    return model


class TokenCounter:
    """Real (non-pad) tokens entering the model's forward on this rank, read once per optimizer step."""

    def __init__(self, model):
        self.real = 0
        model.register_forward_pre_hook(self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs):
        if module.training:
            mask = kwargs.get("attention_mask")
            ids = kwargs.get("input_ids")
            self.real += int(mask.sum()) if mask is not None else int(ids.numel())


def step_timer(counter):
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """Per optimizer step: seconds since the previous step ended, real tokens of all ranks."""

        def __init__(self):
            self.rows, self.last, self.seen = [], None, 0

        def on_step_begin(self, args, state, control, **kw):
            if self.last is None:
                self.last = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            real = torch.tensor([counter.real - self.seen], dtype=torch.float64)
            self.seen = counter.real
            dist.all_reduce(real)
            now = time.perf_counter()
            self.rows.append({"step": state.global_step - 1, "real_tokens": int(real), "seconds": now - self.last,
                              "tokens_per_s": round(float(real) / (now - self.last), 1)})
            self.last = now
    return StepTimer()


def common_args(args, world):
    accumulation = args.batch_size // (world * args.micro_batch_size)
    return dict(output_dir=str(args.out.parent / f".{args.peer}_tmp"), per_device_train_batch_size=args.micro_batch_size,
                gradient_accumulation_steps=accumulation, learning_rate=args.lr, lr_scheduler_type="constant",
                weight_decay=0.1, adam_beta1=0.9, adam_beta2=0.95, max_grad_norm=1.0, max_steps=args.steps,
                warmup_steps=0, logging_strategy="no", save_strategy="no", report_to="none", use_cpu=True,
                ddp_backend="gloo", dataloader_num_workers=0, seed=args.seed, data_seed=args.seed,
                disable_tqdm=True, remove_unused_columns=False, ddp_find_unused_parameters=False)


def build_trainer(args, tok, model, train_rows, world):
    from datasets import Dataset
    if args.peer == "trainer":
        from collections import Counter

        from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments
        rendered = render_all(tok, train_rows, args.max_len, Counter(), "train")
        data = Dataset.from_list([{"input_ids": i, "labels": l} for i, l, _ in rendered])
        targs = TrainingArguments(**common_args(args, world), train_sampling_strategy="group_by_length")
        collator = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=IGNORE)
        return Trainer(model=model, args=targs, train_dataset=data, data_collator=collator)
    from trl import SFTConfig, SFTTrainer
    tok.chat_template = TRL_TEMPLATE
    data = Dataset.from_list([{"messages": [{"role": "user" if k % 2 == 0 else "assistant", "content": t}
                                            for k, t in enumerate(r["conversations"])]} for r in train_rows])
    # SFTConfig's own defaults of bf16 autocast and activation checkpointing are turned off: stage 05 and
    # Trainer compute in fp32 on CPU and keep activations, and a throughput ratio must compare the same work.
    targs = SFTConfig(**common_args(args, world), assistant_only_loss=True, padding_free=True, packing=False,
                      max_length=None, dataset_num_proc=None, bf16=False, activation_checkpointing=False)
    return SFTTrainer(model=model, args=targs, train_dataset=data, processing_class=tok)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    import datasets
    datasets.disable_progress_bars()
    tok = load_tokenizer(args.model)
    train_rows, dev_rows = list(read_jsonl(args.train)), list(read_jsonl(args.dev))
    model = load_model(args.model, tok)
    t_setup = time.perf_counter()
    trainer = build_trainer(args, tok, model, train_rows, int(os.environ.get("WORLD_SIZE", "1")))
    counter = TokenCounter(trainer.model)
    timer = step_timer(counter)
    trainer.add_callback(timer)
    trainer.train()
    from collections import Counter
    dev = render_all(load_tokenizer(args.model), dev_rows, args.max_len, Counter(), "dev")
    dev_loss, _ = evaluate(trainer.model, dev, tok.pad_token_id, args.micro_batch_size, torch.device("cpu"))
    if dist.get_rank() == 0:
        import transformers
        versions = {"transformers": transformers.__version__, "torch": torch.__version__}
        if args.peer == "trl":
            import trl
            versions["trl"] = trl.__version__
        write_json(args.out, {"peer": args.peer, "steps": timer.rows, "dev_loss": round(dev_loss, 6),
                              "setup_seconds": round(time.perf_counter() - t_setup, 2), "versions": versions,
                              "optimizer": str(trainer.args.optim), "world_size": dist.get_world_size()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
