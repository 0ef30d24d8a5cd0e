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

## Run every bench/*.py as a module (python -m bench.NAME).
bench: install
	@found=0; for f in bench/*.py; do \
	  [ -e "$$f" ] || continue; \
	  name=$$(basename "$$f" .py); [ "$$name" = __init__ ] && continue; \
	  found=1; echo "== bench.$$name"; \
	  .venv/bin/python -m "bench.$$name" || exit 1; \
	done; \
	[ $$found = 1 ] || echo "No benchmarks in bench/ yet."
