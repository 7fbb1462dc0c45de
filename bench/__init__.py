"""Load and speed benchmarks, run by hand (not in CI): ``python -m bench.<script>`` from the
repository root. The shared machinery is in ``bench.harness``; dated results in ``bench/notes/``."""
