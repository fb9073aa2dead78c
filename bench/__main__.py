"""`make bench`: runs every bench/bench_*.py module's main() in turn.

Each benchmark prints detail as it goes and records its figures (medians, and ratios against a
comparison point measured in the same run: the machine is shared and noisy, so absolute numbers
drift while ratios hold) in bench.report; the run ends with one table of every figure.
Run one with `python -m bench NAME` (e.g. `python -m bench edge`).
"""
import importlib
import pathlib
import sys

from bench import report


def main(argv):
    here = pathlib.Path(__file__).parent
    names = sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; have {names}")
    for name in wanted:
        print(f"\n=== bench {name} ===", flush=True)
        report.start(name)
        importlib.import_module(f"bench.bench_{name}").main()
    print("\n=== summary ===")
    print("\n".join(report.table()))


if __name__ == "__main__":
    main(sys.argv[1:])
