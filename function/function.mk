# The example's own make targets, included by the root Makefile (which defines PYTHON, FUNCTION_VENV and
# FUNCTION_PY: the function's own environment, built from requirements.txt and requirements-dev.txt).

.PHONY: model bench function-test function-lint

# `make check` runs the function's own checks after the platform's.
FUNCTION_CHECKS += function-test function-lint

function-test: $(FUNCTION_VENV)/.installed ## the example's tests (tests/function), then every event in-process
	$(FUNCTION_PY) -m pytest -q -p no:cacheprovider tests/function
	$(PYTHON) -m scripts.local invoke --quiet 2>/dev/null

function-lint: $(VENV)/.installed ## the example's lint: ruff, which the platform lints its own code with
	$(PY) -m ruff check function tests/function

model: $(FUNCTION_VENV)/.installed ## train the example's forest: function/model.json and function/model.py (deterministic)
	$(FUNCTION_PY) function/train.py

bench: $(FUNCTION_VENV)/.installed ## benchmark the example against the naive and ONNX Runtime handlers (docs/function.md)
	$(FUNCTION_PY) function/benchmark.py $(BENCH_ARGS)
