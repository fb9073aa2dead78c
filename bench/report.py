"""The one table `make bench` ends with.

Each benchmark records its figures here as it measures them (and may print detail as it goes);
`python -m bench` prints every figure in one table, then what each comparison point is.

    report.comparison("PyJWT decode", "PyJWT + cryptography decoding the same token, this run")
    report.figure("First sight of a token", f"{ratio:.2f}x PyJWT decode", "<= 0.6x", ratio <= 0.6)
"""
import collections

Figure = collections.namedtuple("Figure", "bench name measured target met")

_figures = []
_comparisons = {}
_current_bench = [""]


def start(bench):
    """Called by the runner before each benchmark module: figures are grouped by it."""
    _current_bench[0] = bench


def figure(name, measured, target="", met=None):
    """One row: a plain name, the measured figure as text, the target as text, and whether it is met
    (None for a figure reported without a target)."""
    _figures.append(Figure(_current_bench[0], name, measured, target, met))


def comparison(name, meaning):
    """What a comparison point (an anchor a ratio is taken against) is, in a sentence."""
    _comparisons[name] = meaning


def table():
    """The table as lines of text."""
    rows = [("bench", "figure", "measured", "target", "result")]
    for f in _figures:
        result = "" if f.met is None else ("MET" if f.met else "MISSED")
        rows.append((f.bench, f.name, f.measured, f.target, result))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if _comparisons:
        lines.append("")
        lines.append("Comparison points:")
        lines += [f"- {name}: {meaning}" for name, meaning in _comparisons.items()]
    met = sum(f.met is True for f in _figures)
    missed = sum(f.met is False for f in _figures)
    lines.append("")
    lines.append(f"{met} targets met, {missed} missed.")
    return lines
