# lima-repro: the LIMA pipeline (Zhou et al., 2023) as file targets.
#   make all                  the whole chain on the embedded sample (2 CPU cores, minutes)
#   make all PROFILE=paper    the real thing: real dumps under data/raw/, LLaMA weights, GPUs
# Every knob below can be overridden on the command line: make data-stackexchange SE_STEM_QUOTA=50

#################################################################################
# GLOBALS                                                                       #
#################################################################################

PROFILE ?= sample
SEED ?= 0
# Worker processes for the data stages (outputs are byte-identical whatever JOBS is).
JOBS ?= 2
INTERIM ?= data/interim
RESULTS ?= results

PYTHON_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The venv is an order-only prerequisite: rebuilding it (new requirements) reruns no stage.
VENV_STAMP := $(VENV)/.installed

# 2-thread BLAS/OpenMP runs stall on the 2-core machines this runs on (DESIGN.md 8).
export OMP_NUM_THREADS ?= 1
export PYTHONHASHSEED := 0

ifeq ($(wildcard scripts/profiles/$(PROFILE).mk),)
$(error PROFILE=$(PROFILE): no scripts/profiles/$(PROFILE).mk (choose sample or paper))
endif
include scripts/profiles/$(PROFILE).mk

.DEFAULT_GOAL := help
SHELL := /bin/bash

# Stage command lines are remembered in $(INTERIM)/.<stage>.args, rewritten only when they
# change, so a knob changed on the command line (or a PROFILE switch) reruns that stage.
define remember_args
$(shell mkdir -p $(dir $(1)) && f='$(1)' && new='$(strip $(2))' && { [ "$$(cat "$$f" 2>/dev/null)" = "$$new" ] || printf '%s' "$$new" > "$$f"; })
endef
TRACK_ARGS := $(if $(filter-out help variables clean,$(MAKECMDGOALS)),yes,)

#################################################################################
# SET-UP                                                                        #
#################################################################################

$(VENV_STAMP): requirements.txt
	$(PYTHON_SYS) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

## Create .venv from requirements.txt (reruns only when requirements.txt changes)
venv: $(VENV_STAMP)

#################################################################################
# DATA (PAPER.md sections 1-5)                                                  #
#################################################################################

# ---- 01 Stack Exchange: title-only questions, top answers, the paper's filters --------------
SE_SRC := scripts/01_stackexchange.py $(addprefix scripts/lima/,cli.py io.py funnel.py \
          se_archive.py se_posts.py se_html.py se_rules.py se_sites.py se_sample.py)
SE_INPUTS := $(sort $(wildcard $(SE_DUMPS)/*.7z $(SE_DUMPS)/*/Posts.xml))
SE_ARGS := --dumps $(SE_DUMPS) --stem-quota $(SE_STEM_QUOTA) --other-quota $(SE_OTHER_QUOTA) --seed $(SEED)
ifneq ($(TRACK_ARGS),)
$(call remember_args,$(INTERIM)/.stackexchange.args,$(SE_ARGS))
endif

$(INTERIM)/stackexchange.jsonl: $(SE_INPUTS) $(SE_SRC) $(INTERIM)/.stackexchange.args | $(VENV_STAMP)
	$(PY) scripts/01_stackexchange.py $(SE_ARGS) -j $(JOBS) --out $@

## Stage 01: Stack Exchange dumps -> data/interim/stackexchange.jsonl (+ pools/ for ablations)
data-stackexchange: $(INTERIM)/stackexchange.jsonl

#### stage-rules-end (stages 02 and 03 add their rules above this line)

#################################################################################
# THE WHOLE CHAIN                                                               #
#################################################################################

## Run every stage built so far, in pipeline order (today: the data stages)
all: data-stackexchange

#################################################################################
# UTILITIES                                                                     #
#################################################################################

## Run the test suite (sets up .venv first)
test: $(VENV_STAMP)
	$(PY) -m pytest -q --durations=15

## Benchmarks: each stage against its floor, measured in the same run -> results/bench/
bench: $(VENV_STAMP)
	mkdir -p $(RESULTS)/bench
	$(PY) scripts/bench/stackexchange.py --out $(RESULTS)/bench/stackexchange.json

## Print the resolved knobs of the current PROFILE
variables:
	@$(foreach v,PROFILE SEED JOBS INTERIM RESULTS SE_DUMPS SE_STEM_QUOTA SE_OTHER_QUOTA,echo "$(v) = $($(v))";)

## Remove everything the pipeline produced (keeps data/raw/ and .venv)
clean:
	rm -rf $(INTERIM) data/lima checkpoints $(RESULTS)

## List the targets with one line each
help:
	@echo "lima-repro (PROFILE=$(PROFILE)). Targets:"
	@awk '/^## /{d=substr($$0,4); next} /^[a-zA-Z0-9_-]+:/{if(d!=""){sub(/:.*/,"",$$1); printf "  %-20s %s\n",$$1,d}; d=""}' $(MAKEFILE_LIST)

.PHONY: venv data-stackexchange all test bench variables clean help
