# The two commands of the README. Both set up everything they need first (bin/setup is idempotent).
.PHONY: setup demo test lint

setup:
	bin/setup

demo: setup
	.venv/bin/simian demo

test:
	SIMIAN_TEST_TOOLS=1 bin/setup
	.venv/bin/python -m pytest -ra

lint:
	SIMIAN_TEST_TOOLS=1 bin/setup
	.venv/bin/ruff check simian flows tests bench
	.venv/bin/mypy
