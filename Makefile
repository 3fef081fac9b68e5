# The two commands of the README. Both set up everything they need first (bin/setup is idempotent).
.PHONY: setup demo test test-slow test-image test-all lint

setup:
	bin/setup

demo: setup
	.venv/bin/simian demo

# CI runs `test` (about 10 minutes on 2 cores: three pytest-xdist workers, each test file on one worker so its
# module fixtures, the stacks among them, are built once) and `test-image` (the render worker image built with buildah, about 5 minutes).
# `test-slow` is the fault suite, the other tests of over a minute each and the 1,000-recipe caption lint (about 12
# minutes), run before a release and after changing orchestration.
test:
	SIMIAN_TEST_TOOLS=1 bin/setup
	.venv/bin/python -m pytest -ra -m "not slow and not image" -n 3 --dist loadfile --durations=15

test-image:
	SIMIAN_TEST_TOOLS=1 bin/setup
	.venv/bin/python -m pytest -ra -m "image and not slow" --durations=5

test-slow:
	SIMIAN_TEST_TOOLS=1 bin/setup
	.venv/bin/python -m pytest -ra -m slow --durations=15

test-all: test test-image test-slow

lint:
	SIMIAN_TEST_TOOLS=1 bin/setup
	.venv/bin/ruff check simian flows tests bench deployments
	.venv/bin/ruff format --check simian flows tests bench deployments
	.venv/bin/lint-imports
	.venv/bin/mypy
