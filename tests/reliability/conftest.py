"""The reliability suite's tally: every test here adds to one set of figures, printed as one
line when the run ends, and each figure that must be zero is asserted zero by the test that
counted it (so a regression fails the test that found it, and the line shows the size).

Use the `figures` fixture:

    figures.tried("bad_inputs")           # one hostile input sent
    figures.add("clean_rejections")       # it got a clear 4xx / form error
    figures.add("server_errors", detail)  # it got a 500 (the test then fails)
"""

from collections import Counter

import pytest

# The order of the printed line; each name is a figure a test may add to.
FIGURE_NAMES = (
    "bad_inputs",
    "clean_rejections",
    "server_errors",
    "rows_lost",
    "unauthorised_successes",
    "duplicate_side_effects",
    "csp_violations",
    "history_gaps",
)
MUST_BE_ZERO = (
    "server_errors",
    "rows_lost",
    "unauthorised_successes",
    "duplicate_side_effects",
    "csp_violations",
    "history_gaps",
)


class Figures:
    def __init__(self):
        self.counts: Counter = Counter({name: 0 for name in FIGURE_NAMES})
        self.details: dict[str, list[str]] = {name: [] for name in FIGURE_NAMES}

    def add(self, name: str, detail: str = "", count: int = 1) -> None:
        if name not in self.counts:
            raise KeyError(f"unknown reliability figure {name!r}")
        self.counts[name] += count
        if detail:
            self.details[name].append(detail)

    def tried(self, name: str = "bad_inputs", count: int = 1) -> None:
        self.add(name, count=count)

    def assert_zero(self, *names: str, since: Counter | None = None) -> None:
        """Fail when a must-be-zero figure grew (since a snapshot taken by the caller)."""
        before = since or Counter()
        grown = {
            name: self.counts[name] - before[name]
            for name in names or MUST_BE_ZERO
            if self.counts[name] - before[name]
        }
        if grown:
            samples = {name: self.details[name][-5:] for name in grown}
            raise AssertionError(f"reliability figures not zero: {grown}; e.g. {samples}")

    def snapshot(self) -> Counter:
        return Counter(self.counts)

    def line(self) -> str:
        return "reliability: " + ", ".join(
            f"{name.replace('_', ' ')} {self.counts[name]}" for name in FIGURE_NAMES
        )


TALLY = Figures()
_used = {"flag": False}


@pytest.fixture
def figures():
    """The run's tally; the test asserts its own must-be-zero figures stayed zero."""
    _used["flag"] = True
    before = TALLY.snapshot()
    yield TALLY
    TALLY.assert_zero(since=before)


def pytest_terminal_summary(terminalreporter):
    if _used["flag"]:
        terminalreporter.write_sep("=", "reliability figures")
        terminalreporter.write_line(TALLY.line())
