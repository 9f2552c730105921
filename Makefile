# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Portable llama.cpp build (a wheel built with -march=native can crash on another CPU), with the SIMD that
# every x86-64-v3 machine has.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: bench-user bench-learn-seeds demo test test-fast phoenix-venv stress lint bench bench-learn bench-learn-1.5b bench-learn-other bench-learn-ablations bench-bbh-choice bench-judge bench-headroom bench-online bench-quality bench-compare bfcl bench-tools install lock clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3

# Dependencies (core, dev, postgres, ray, server and bench extras) come from the hash-checked lock; the package
# itself installs without resolving anything.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# The RL extra (torch CPU build, transformers, trl, peft; exact pins in pyproject.toml) for its CPU test.
$(VENV)/.installed-rl: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[rl]'
	touch $@

# The phoenix extra (arize-phoenix-client, pinned in pyproject.toml) for `traces pull` / `traces push`.
$(VENV)/.installed-phoenix: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[phoenix]'
	touch $@

# The Phoenix server's own virtualenv (arize-phoenix pins openai 3.x, which our lock cannot share), every package
# pinned in tests/integration/phoenix-requirements.txt; the Phoenix integration test makes it on first use anyway.
phoenix-venv: install
	nice -n 19 $(BIN)/python -m tests.integration.phoenix_venv

install: $(VENV)/.installed

demo: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn optimize runs/demo.yaml
	$(BIN)/promptlearn runs list --limit 3
	$(BIN)/promptlearn report latest --out out/demo-report.html
	@echo "report: open out/demo-report.html in a browser"

test: install $(VENV)/.installed-rl $(VENV)/.installed-phoenix
	$(BIN)/promptlearn models pull smollm2-135m
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not integration"

# The reliability suite at full count: 20 SIGKILLed runs (make test runs 5).
stress: install
	PROMPTLEARN_CRASH_RUNS=20 $(BIN)/pytest -q tests/reliability -s

lint: install
	$(BIN)/ruff check promptlearn tests benchmarks
	$(BIN)/mypy promptlearn

bench: install
	$(BIN)/promptlearn models pull smollm2-135m
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/python -m benchmarks.lm_throughput
	$(BIN)/python -m benchmarks.report_load
	$(BIN)/python -m benchmarks.store_scale
	$(BIN)/python -m benchmarks.server_scaling
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset cpu --db runs/out/bench.db

# The learn benchmark (issue #15): two CLINC150 domains, one BBH task and rules-json; seed, promptlearn, GEPA,
# MIPROv2 and the two ablations at 150 learning rollouts. The peers' per-example results are committed under
# benchmarks/results/learn-peers/ and reused while their fingerprint matches, so a fresh clone reruns only
# promptlearn's arms.
bench-learn: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset learn --arms seed --arms promptlearn --arms gepa --arms miprov2 --db runs/out/learn.db

# The same preset with the 1.5B model answering the tasks (reflection models unchanged): the four learn tasks, seed,
# promptlearn and GEPA (a 1.5B call takes 10-30 s here; MIPROv2 would add about 3 hours per task on 2 cores).
bench-learn-1.5b: install
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset learn --tasks clinc-banking --tasks clinc-credit_cards --arms seed --arms promptlearn --arms gepa --task-model local/qwen2.5-1.5b --out learn-1.5b --db runs/out/learn.db
	$(BIN)/promptlearn bench --preset learn --tasks bbh:disambiguation_qa --arms seed --arms promptlearn --arms gepa --task-model local/qwen2.5-1.5b --out learn-1.5b-bbh --db runs/out/learn.db
	$(BIN)/promptlearn bench --preset learn --tasks rules-json --arms seed --arms promptlearn --arms gepa --task-model local/qwen2.5-1.5b --out learn-1.5b-rules --db runs/out/learn.db

# The loop as a user runs it (the config's defaults) under the conditions of the check on unseen tasks
# (ANCHORS.md): two six-intent CLINC150 subsets and two binary BBH tasks, train 30 / val 30 / test 100, 150 rollouts.
bench-user: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset user --db runs/out/user.db
	$(BIN)/promptlearn bench --preset user --tasks clinc-home-lists --tasks clinc-kitchen-reservations --seeds 2 --out user-seeds --db runs/out/user.db
	$(BIN)/promptlearn bench --preset user --tasks clinc-home-lists --tasks clinc-kitchen-reservations --arms seed --arms promptlearn --arms no_extension --arms rules_first --out user-ablations --db runs/out/user.db
	$(BIN)/promptlearn bench --preset user --tasks clinc-home-lists --tasks clinc-kitchen-reservations --arms seed --arms promptlearn --arms gepa --out user-gepa --db runs/out/user.db
	$(BIN)/promptlearn bench --preset user --tasks clinc-home-lists --tasks clinc-kitchen-reservations --arms seed --arms promptlearn --arms miprov2 --out user-mipro --db runs/out/user.db

# A second seed (another draw of the splits, another sample of proposals) on the two CLINC tasks, against GEPA;
# and on the other two learn tasks, promptlearn against the seed.
bench-learn-seeds: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset learn --tasks clinc-banking --tasks clinc-credit_cards --arms promptlearn --arms gepa --seeds 2 --out learn-seeds --db runs/out/learn.db
	$(BIN)/promptlearn bench --preset learn --tasks bbh:disambiguation_qa --tasks rules-json --arms seed --arms promptlearn --seeds 2 --out learn-seeds-bbh-json --db runs/out/learn.db

# Do other tasks agree? Run the same way as the preset's own (same splits, seed-prompt shape, scorer, loop), chosen
# before any result: another CLINC150 domain and the BBH task the chooser ranks second (logical_deduction).
bench-learn-other: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset learn --tasks clinc-travel --arms promptlearn --arms gepa --out learn-other-travel --db runs/out/learn.db
	$(BIN)/promptlearn bench --preset learn --tasks bbh:logical_deduction_three_objects --arms promptlearn --arms gepa --out learn-other-logic --db runs/out/learn.db

# What each mechanism buys: promptlearn with worked examples off (and the judge on, as it ran), with the judge on,
# with screening (and the merge of screened candidates) off.
bench-learn-ablations: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset learn --arms no_examples --arms judge --arms no_screen --out learn-ablations --db runs/out/learn.db

# How the learn preset's BBH task was chosen: zero-shot on train+val (never test) for each BBH task.
bench-bbh-choice: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/python -m benchmarks.choose_bbh --db runs/out/learn.db --per-split 12

# Headroom on the BBH tasks where the loop keeps the seed (binary) or ends near the majority (multiple choice):
# balanced worked examples, or a chain of thought with 8x the answer budget, no search
# (benchmarks/results/{binary,choice}_headroom.md).
bench-headroom: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/python -m benchmarks.binary_headroom --db runs/out/headroom.db --limit 40 --set binary
	$(BIN)/python -m benchmarks.binary_headroom --db runs/out/headroom.db --limit 40 --set choice

# Does the judge's verdict agree with the code scorer's? Balanced seed rollouts stored by bench-learn.
bench-judge: install
	$(BIN)/python -m benchmarks.judge_trust --db runs/out/learn.db --per-verdict 20 --tasks clinc-banking,clinc-credit_cards

# Online learning from simulated users (issue #18): CLINC150 banking served by the 0.5B model, 30% of the outputs
# rated (a tenth of the thumbs-down corrected), learned online in batches, seed vs learned prompt on later traffic.
bench-online: install
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/python -m benchmarks.online_stream --db runs/out/online.db

# bfcl-eval's own virtualenv (its pins, numpy 1.x among them, do not fit our lock): bfcl-eval and the five
# packages its checker imports, pinned with hashes (promptlearn/data/bfcl.py), plus its three categories as JSONL.
# Made on first use anyway; this makes it ahead of time.
bfcl: install
	$(BIN)/python -c "from promptlearn.data import bfcl; [bfcl.dataset_file(c) for c in ('simple_python', 'multiple', 'irrelevance')]; print(bfcl.home())"

# Function calling (issue #20): BFCL simple_python, multiple and irrelevance; seed vs promptlearn vs GEPA.
bench-tools: install bfcl
	$(BIN)/promptlearn models pull qwen2.5-0.5b
	$(BIN)/promptlearn models pull qwen2.5-1.5b
	$(BIN)/promptlearn bench --preset tools --db runs/out/tools.db

# Slower studies, each about 20-30 minutes on 2 cores: learning-quality options off/on (issue #10), and prompt
# learning against GRPO+LoRA at a matched budget (issue #6, needs the rl extra).
bench-quality: install
	$(BIN)/python -m benchmarks.quality_onoff

bench-compare: install $(VENV)/.installed-rl
	$(BIN)/promptlearn compare --dataset bbh:sports_understanding --model qwen2.5-0.5b --ood bbh:navigate \
		--test 30 --ood-n 30 --budget 48 --max-tokens 32 --eval-points 1

# Regenerate the lock (pinned, with hashes) from pyproject.toml's pins.
lock: | $(BIN)/python
	$(BIN)/pip install -q pip-tools==7.6.2
	$(BIN)/pip-compile -q --generate-hashes --allow-unsafe --extra dev --extra postgres --extra ray --extra server --extra bench --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
