# Parser benchmarks (issue 7): construct, construct .compile(), the generated fast parser,
# hand-written struct/ctypes baselines, views and numpy, side by side. Needs numpy (`.[bulk]`).
# The context queue benchmark (issue 20): two threads on the seed's and the generated layout.

.PHONY: bench

bench: $(STAMP) toolchains
	$(PY) benchmarks/bench_context_queue.py
	$(PY) benchmarks/bench_parsers.py
	$(PY) benchmarks/bench_generate.py
