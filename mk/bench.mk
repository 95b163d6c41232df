# Parser benchmarks (issue 7): construct, construct .compile(), the generated fast parser,
# hand-written struct/ctypes baselines, views and numpy, side by side. Needs numpy (`.[bulk]`).

.PHONY: bench

bench: $(STAMP)
	$(PY) benchmarks/bench_parsers.py
	$(PY) benchmarks/bench_generate.py
