# The suite's commands. `make run` and `make test` are the two that matter.
SHELL := /bin/bash
UV ?= uv
MEMBERS := shared auth_service notify_ws_service chat_service orders_service
PYTEST_ARGS ?=

.PHONY: help install run test lint format typecheck bench faults clean

help:
	@echo "make run       start the whole suite locally (embedded defaults, demo data)"
	@echo "make test      run every test against PostgreSQL, Redis and a Kafka broker"
	@echo "make lint      ruff and mypy"
	@echo "make bench     benchmarks; prints a table, writes var/bench/*.json"
	@echo "make faults    fault scenarios: lost and duplicated events under failures"

install:
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --all-packages --frozen --quiet

run: install
	$(UV) run --frozen python deploy/local/run.py

# One pytest process per member: each has its own tests package and fixtures.
TEST_DIRS := shared/tests auth_service/tests notify_ws_service/tests chat_service/tests \
	orders_service/tests deploy

test: install
	@rm -rf var/test-results; set -e; for d in $(TEST_DIRS); do \
		if [ -n "$$(find $$d -name 'test_*.py' 2>/dev/null | head -1)" ]; then \
			echo "=== $$d"; \
			$(UV) run --frozen pytest $$d --junitxml=var/test-results/$${d%%/*}.xml $(PYTEST_ARGS); \
		fi; \
	done; \
	$(UV) run --frozen python deploy/local/test_summary.py var/test-results

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	@set -e; for m in $(MEMBERS); do $(UV) run --frozen mypy $$m/src; done
	$(UV) run --frozen mypy deploy/local bench

format: install
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench: install
	$(UV) run --frozen python -m bench

faults: install
	$(UV) run --frozen pytest bench/faults $(PYTEST_ARGS)

clean:
	rm -rf var/
