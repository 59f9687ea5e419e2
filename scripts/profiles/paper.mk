# The paper's run: real dumps under data/raw/ (or paths given on the command line), Table 1's
# quotas, the paper's hyperparameters. The training recipe and the decoding are left empty here: the
# scripts' argparse defaults hold the paper's values. The numbers this file does set are Table 1's
# quotas, the pools' sizes, §5's ablation sizes and smaller-model recipe, and the node layout.

# One <site>.7z per Stack Exchange site (or extracted <site>/Posts.xml folders).
SE_DUMPS ?= data/raw/stackexchange
SE_STEM_QUOTA ?= 200
SE_OTHER_QUOTA ?= 200

# Reddit (stage 03): per-subreddit files (WritingPrompts_submissions.zst, WritingPrompts_comments.zst,
# AskReddit_submissions.zst) and/or monthly RS_/RC_ files. No pin file: the paper's hand selection
# is unpublished (set REDDIT_PINS=data/authored/my_pins.txt to pin your own).
REDDIT_DUMPS ?= data/raw/reddit
WP_QUOTA ?= 150
ASK_QUOTA ?= 70
REDDIT_POOL_FACTOR ?= 10
REDDIT_PINS ?=

# wikiHow (stage 02): crawl wikihow.com into this cache (robots.txt, >= 3 s between requests).
# Set WH_USER_AGENT to a descriptive agent with your contact; the stage refuses to crawl without.
# WH_CSV=path/to/wikihowAll.csv (or wikihowSep.csv) uses the WikiHow dataset instead of crawling.
# The pool holds up to 2,000 parsed articles for the quantity ablation (§5).
WH_CACHE ?= data/raw/wikihow
WH_OFFLINE ?= no
WH_CSV ?=
WH_QUOTA ?= 200
WH_POOL_QUOTA ?= 2000
WH_CATEGORIES ?=
WH_USER_AGENT ?=

# Dataset (stage 04): Table 1's quotas and --strict (a short source is an error). The paper's
# hand-written parts (Group A train, the edited Super-NI examples, the 30 dialogues, the 300 test
# prompts) come from the GAIR/lima release (train.jsonl, test.jsonl in LIMA_RELEASE); the dev set is
# ours (the release has none). TAKE_FROM_RELEASE=authors,multi_turn,test draws the 50 Super-NI
# examples from the task files in SUPERNI instead.
AUTHORED ?= data/authored
SUPERNI ?= data/raw/natural-instructions/tasks
LIMA_RELEASE ?= data/raw/lima
TAKE_FROM_RELEASE ?= authors,nlp,multi_turn,test
NLP_QUOTA ?= 50
AUTHORS_QUOTA ?= 200
DEV_QUOTA ?= 50
TEST_AUTHORS_QUOTA ?= 230
DIALOGUES_QUOTA ?= 30
DATA_STRICT ?= yes

# Base model: LLaMA in Hugging Face format from a local folder (nothing is downloaded). 65B for the
# main run; the ablations use 7B (ABLATION_MODEL).
MODEL ?= data/raw/llama-65b
BASE_TARGET ?= $(MODEL)/config.json
BASE_STEPS ?=

# Training: one node of 8 × 80 GB GPUs by default; for several nodes set NNODES, NODE_RANK and
# RDZV_ENDPOINT (docs/training.md#several-nodes). The recipe is the script's defaults (the paper's):
# nothing to repeat here.
# Memory (make plan): 65B's weights, gradients and AdamW moments are 1.04 TB in fp32, more than 8 × 80 GB,
# so CPU offload is on: 15 GB per GPU and ~1.07 TB of host memory on the node. Without offload the
# smallest fit is NNODES=4 (32 GPUs, 48 GB each; 16 GPUs need 80 GB each). Checkpointing keeps the
# activations at 3.7 GB per GPU instead of 77 GB. The 7B ablations fit one node without offload.
NPROC ?= 8
NNODES ?= 1
NODE_RANK ?= 0
RDZV_ENDPOINT ?=
TRAIN_FILE ?= $(LIMA_DATA)/train.jsonl
EPOCHS ?=
BATCH_SIZE ?=
MICRO_BATCH_SIZE ?=
LR ?=
FINAL_LR ?=
MAX_LEN ?=
RESID_DROPOUT ?=
KEEP_EPOCHS ?=
ACTIVATION_CHECKPOINTING ?= yes
CPU_OFFLOAD ?= yes
# auto: each layer stays gathered through the optimizer step when the memory plan fits with it (one
# gather and one reduce-scatter per step instead of three collectives per micro-batch); yes / no force it.
KEEP_UNSHARDED ?= auto
# The plan is for GPUs even when made on a machine without one; a GPU's own memory wins when training.
PLAN_DEVICE ?= gpu
DEVICE_MEM_GB ?=
HOST_MEM_GB ?=
IGNORE_PLAN ?=

# Evaluation (stage 06): the decoding defaults are the paper's (§4.1: 1 sample, 2,048 new tokens).
# Prompts are split over NPROC ranks; a model too large for one GPU (65B) runs as EVAL_NPROC=1
# EVAL_DEVICE_MAP=auto (spread over the node's GPUs). BASELINES="alpaca65b=FILE davinci003=FILE ...":
# the other systems' responses ({id, prompt, response}, e.g. made with `06_eval.py --generate-via-api`),
# one judged comparison each (BASELINE=FILE: one more). The release's test rows carry no safety/OOD
# flags: FLAGS=file gives them (id -> flags), else the judge classifies them. The judge's URL and model
# come from the environment (JUDGE_BASE_URL, JUDGE_MODEL; key in JUDGE_API_KEY).
EVAL_CKPT ?=
EVAL_NPROC ?= $(NPROC)
EVAL_DEVICE_MAP ?=
MAX_NEW_TOKENS ?=
EVAL_SAMPLES ?=
BASELINE ?=
BASELINES ?=
BOTH_ORDERS ?= no
FLAGS ?=
JUDGE_BASE_URL ?=
JUDGE_MODEL ?=
# The judge's limits: calls in flight, HTTP requests per stage, seconds per call (the whole call, not
# each read), the longest wait before a retry whatever Retry-After asks, and the wall-clock seconds for
# all judging in one make run (one deadline shared by 07 and 06 under `make eval`; 0 = no limit).
JUDGE_CONCURRENCY ?= 4
JUDGE_BUDGET ?= 5000
JUDGE_TIMEOUT ?= 120
JUDGE_MAX_WAIT ?= 60
JUDGE_TIME_BUDGET ?= 7200

# Ablations (§5; make ablations): LLaMA 7B with the smaller-model recipe (§3: batch 64, residual
# dropout 0.2 at the top layer); 2,000 examples per set; the quantity series 2K..32K.
ABLATION_MODEL ?= data/raw/llama-7b
ABLATION_SIZE ?= 2000
ABLATION_SIZES ?= 2000,4000,8000,16000,32000
ABLATION_BATCH_SIZE ?= 64
ABLATION_RESID_DROPOUT ?= 0.2
ABLATION_CPU_OFFLOAD ?= no
