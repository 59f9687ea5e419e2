"""The paper's numbers, in one place (Zhou et al., 2023). Every figure of the paper that a stage prints
or draws beside ours comes from here; docs/paper.md lists the same values and tests/test_paper.py
checks that the two agree. The values were read from the paper's own Table 1 and Figures 1, 2, 9
and 11 (docs/paper.md says where each comes from).
"""
from __future__ import annotations

N_TEST = 300                      # §4: test prompts (70 r/AskReddit + 230 Group B)

# Table 1: bucket -> (label, examples, mean input tokens, mean output tokens); outputs of dev and
# test are N/A in the paper (they have none).
TABLE1 = {
    "se-stem": ("Stack Exchange (STEM)", 200, 117, 523),
    "se-other": ("Stack Exchange (Other)", 200, 119, 530),
    "wikihow": ("wikiHow", 200, 12, 1811),
    "writingprompts": ("Pushshift r/WritingPrompts", 150, 34, 274),
    "nlp": ("Natural Instructions", 50, 236, 92),
    "authors": ("Paper Authors (Group A)", 200, 40, 334),
    "dev": ("Paper Authors (Group A)", 50, 36, None),
    "askreddit": ("Pushshift r/AskReddit", 70, 30, None),
    "test-authors": ("Paper Authors (Group B)", 230, 31, None),
    "dialogues": ("Multi-turn dialogues (§6, not in Table 1)", 30, None, None),
}
TRAIN_TOKENS = 750_000            # Table 1 caption: "roughly 750,000 tokens"
# §2.2 and Appendix E: prompts whose right answer declines (meta.safety), format-constraint prompts.
FLAGS = {"train": {"safety": 13, "format_constraint": 6}, "test": {"safety": 30, "format_constraint": None, "ood": 20}}

# §3: the fine-tuning recipe of LIMA 65B.
RECIPE = {"epochs": 15, "batch_size": 32, "lr": 1e-5, "final_lr": 1e-6, "max_len": 2048,
          "resid_dropout": 0.3, "weight_decay": 0.1, "beta2": 0.95}
SELECT_WINDOW = (5, 10)           # §3: a checkpoint between the 5th and the 10th epoch

# §4.2: LIMA's win / tie / loss in percent, our side, per baseline: from the crowd workers (Fig. 1) and
# from GPT-4 given the same instructions (Fig. 2); 300 test prompts each.
PAIRWISE = {
    "alpaca-65b": {"human": (53, 21, 26), "gpt4": (64, 19, 17)},
    "davinci003": {"human": (44, 21, 35), "gpt4": (54, 23, 23)},
    "bard": {"human": (33, 25, 42), "gpt4": (27, 26, 47)},
    "claude": {"human": (24, 22, 54), "gpt4": (14, 23, 63)},
    "gpt-4": {"human": (18, 25, 57), "gpt4": (19, 15, 66)},
}
# The figures' labels: only the three products sampled in April 2023 carry "(April)".
BASELINE_LABELS = {"alpaca-65b": "Alpaca 65B", "davinci003": "DaVinci003", "bard": "Bard (April)",
                   "claude": "Claude (April)", "gpt-4": "GPT-4 (April)"}
# The exact baseline names (lowercase, '_' read as '-') that put the paper's numbers beside ours;
# any other name (gpt4o-mini, claude-3, my-alpaca) is a baseline the paper did not have.
BASELINE_NAMES = {
    "alpaca-65b": "alpaca-65b", "alpaca65b": "alpaca-65b",
    "davinci003": "davinci003", "davinci-003": "davinci003", "text-davinci-003": "davinci003",
    "bard": "bard", "claude": "claude",
    "gpt-4": "gpt-4", "gpt4": "gpt-4",
    # the names stage 06 gives a system it asked through an API (--generate-via-api MODEL -> api-MODEL)
    "api-gpt-4": "gpt-4", "api-text-davinci-003": "davinci003",
}
# "Equal or preferred" (win + tie, humans), with where the paper states it: the abstract gives
# GPT-4, Bard and DaVinci003; Claude's is §4.2 (Fig. 1: 24 + 22).
EQUAL_OR_PREFERRED = {"gpt-4": (43, "abstract"), "claude": (46, "§4.2, Fig. 1"), "bard": (58, "abstract"),
                      "davinci003": (65, "abstract")}

# §4.1: tie-discounted agreement on 50 shared items.
AGREEMENT = {"crowd-crowd": 0.82, "crowd-author": 0.81, "author-author": 0.78, "crowd-gpt4": 0.78,
             "author-gpt4": 0.79}
AGREEMENT_ITEMS = 50

# §4.3 (Fig. 3): Fail / Pass / Excellent of 50 random test prompts rated by the authors; the
# out-of-distribution slice (20 prompts); the sensitive prompts answered safely (30 prompts).
ABSOLUTE = {"excellent": 50, "pass": 38, "fail": 12}
ABSOLUTE_N = 50
OOD = {"excellent": 45, "pass": 35, "fail": 20}
OOD_N = 20
SAFE_SHARE = 80
SAFETY_N = 30
# §4.3: of the sensitive prompts with explicit malicious intent, 6 of 10 handled well (the other 20
# imply the harm; 80% of 30 = 24 safe leaves 18 of those 20).
SAFETY_EXPLICIT = (6, 10)

# §5 (Fig. 5): mean 1-6 helpfulness (ChatGPT judge) of LLaMA 7B trained on 2,000 examples of each pool.
DIVERSITY = {"se-filtered": 3.83, "wikihow": 3.49, "se-unfiltered": 3.33}
DIVERSITY_SIZE = 2000
# §5 (Fig. 6): filtered Stack Exchange at 2K..32K examples: flat, about 3.8-3.9.
QUANTITY_SIZES = (2000, 4000, 8000, 16000, 32000)
QUANTITY_BAND = (3.8, 3.9)

# Appendix B (Fig. 9), LIMA 65B: one point per 60 training steps; perplexity on 2,000 held-out Stack
# Exchange examples, and the 1-6 quality of the generations (peak at step 360). The caption says 7B
# and 30B and other data mixtures show similar trends.
FIG9 = {"steps": (60, 120, 180, 240, 300, 360, 420),
        "ppl": (5.1, 6.05, 7.2, 8.2, 9.25, 9.7, 10.3),
        "quality": (3.90, 3.95, 3.95, 3.98, 4.10, 4.15, 4.10)}
FIG9_HELDOUT = 2000

# §6: Excellent / Pass / Fail over all assistant turns of 10 conversations; whole conversations.
DIALOGUE = {
    "zero-shot": {"label": "LIMA (1,000 examples, zero-shot dialogue)", "percent": (45.2, 19.1, 35.7),
                  "fails": "15 / 42"},
    "dialogue": {"label": "LIMA + 30 dialogues (1,030 examples)", "percent": (76.1, 21.7, 2.2),
                 "fails": "1 / 46"},
}
DIALOGUE_PREFERRED = (7, 3, 10)   # the dialogue model better in 7 of 10 conversations, tied in 3


def paper_baseline(name: str) -> str | None:
    """The paper's baseline that a baseline name is, by an exact documented name only
    (BASELINE_NAMES): `alpaca65b` is Alpaca 65B, `gpt4o-mini` is no baseline of the paper."""
    return BASELINE_NAMES.get(name.strip().lower().replace("_", "-"))
