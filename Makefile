# Two commands for a fresh machine: `make demo` and `make test`.
# Both install what they need (apt, pip, the Elasticsearch download) and are
# safe to run again.
SHELL := /bin/bash
VENV := .venv
WS := $(VENV)/bin/wirestream
# The topic model, trained from the shipped corpus (seeded: the same data
# gives the same model); rebuilt when the corpus or the model code changes.
TOPIC_MODEL := var/models/topics.npz

.PHONY: bootstrap services demo test unit integration lint down status bench soak model

bootstrap:
	@bash scripts/bootstrap.sh

services: bootstrap $(TOPIC_MODEL)
	@$(WS) services up

model: $(TOPIC_MODEL)

$(TOPIC_MODEL): data/topics/mewsc16.tsv.gz services/enrich/topic_model.py | bootstrap
	@$(WS) topics train --out $@

demo: services
	@$(WS) demo

# pytest exits 5 when it collected no tests: that is a failure here.
test: services
	@$(VENV)/bin/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

unit: bootstrap $(TOPIC_MODEL)
	@$(VENV)/bin/pytest tests/unit

integration: services
	@$(VENV)/bin/pytest tests/integration

lint: bootstrap
	@$(VENV)/bin/ruff check shared services wirestream tests bench
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache

# Benchmarks against the local services; writes BENCHMARKS.md and prints the
# ratio of every figure to the previous run.
bench: services
	@$(VENV)/bin/python -m bench.run

# 30 minutes of mixed-language load at half the recorded end-to-end peak with
# faults injected at random (bench/soak.py); figures go to BENCHMARKS.md.
# SOAK_ARGS="--duration 300" for a shorter run.
soak: services
	@$(VENV)/bin/python -m bench.soak $(SOAK_ARGS)

status:
	@$(WS) services status

down:
	@$(WS) services down
