# The example's own make targets, included by the root Makefile (which defines VENV and PY).

.PHONY: model bench

model: $(VENV)/.installed ## train the example's forest: function/model.json and function/model.py (deterministic)
	$(PY) function/train.py

bench: $(VENV)/.installed ## benchmark the example against the naive and ONNX Runtime handlers (docs/function.md)
	$(PY) function/benchmark.py $(BENCH_ARGS)
