"""Open-loop HTTP load from the command line: ``python -m bench.open_loop --help``."""

from bench.harness.open_loop import main

if __name__ == "__main__":
    raise SystemExit(main())
