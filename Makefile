# The two commands of the README are `make run` and `make test`. Tools come from the
# uv-managed .venv that bin/setup creates from uv.lock.

.PHONY: run test lint format bench install

install:
	@bin/setup

## Serve http://127.0.0.1:8000 with a background worker (demo / demo). Ctrl-C stops.
run:
	@bin/run

## The whole test suite. DATABASE_URL, REDIS_URL and REQUIRE_SERVICES pass through.
test: install
	.venv/bin/pytest $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-logo

format: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

## The benchmark suite (bench/suite.py): the dataset made once in BENCH_DATABASE_URL
## (default kith_bench), every workload beside its raw baseline, one table,
## bench/results.json and docs/performance.md. BENCH_CONTACTS (default 1,000,000).
bench: install
	.venv/bin/python -m bench.suite $(BENCH_ARGS)
