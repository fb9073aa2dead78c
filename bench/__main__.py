"""`make bench`: runs every bench/bench_*.py module's main() in turn.

Each benchmark prints medians and ratios against an anchor it measures in the same run
(the machine is shared and noisy: absolute numbers drift, ratios hold).
Run one with `python -m bench NAME` (e.g. `python -m bench edge`).
"""
import importlib
import pathlib
import sys


def main(argv):
    here = pathlib.Path(__file__).parent
    names = sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; have {names}")
    for name in wanted:
        print(f"\n=== bench {name} ===", flush=True)
        importlib.import_module(f"bench.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
