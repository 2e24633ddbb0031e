"""The table bench.ingest ends with: every rate by number of connections, beside the fsync sink."""

from __future__ import annotations

from dataclasses import dataclass

GOALS = {"gateway acceptance": 0.90, "end to end": 0.60}
GOAL_CONNECTIONS = 16
# The rate every other one is compared with.
FSYNC_SINK = "fsync-before-250 sink"
# The drain over a spool filled beforehand: the end-to-end rate's ceiling.
DRAIN_ALONE = "drain alone (spool filled first)"


@dataclass(frozen=True)
class Rate:
    """One measure at one number of connections."""

    name: str
    mails: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.mails / self.seconds


def print_table(results: dict[int, list[Rate]], database: str, mails: int, mode: str) -> None:
    """Print every rate by number of connections, with the ratios to the fsync sink and goals."""
    counts = sorted(results)
    print(f"\n{mails:,} mails, {database}, {mode}; mails/s (ratio to the fsync-before-250 sink)")
    header = ["measure", *(f"{count} conn." for count in counts), f"goal at {GOAL_CONNECTIONS}"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for index, name in enumerate(rate.name for rate in results[counts[0]]):
        cells = [name]
        for count in counts:
            rate, fsync = results[count][index], _fsync_sink(results[count])
            cells.append(f"{rate.rate:,.1f} ({rate.rate / fsync.rate:.2f}x)")
        cells.append(_goal(name, results.get(GOAL_CONNECTIONS), index, database))
        print("| " + " | ".join(cells) + " |")


def _goal(name: str, rates: list[Rate] | None, index: int, database: str) -> str:
    goal = GOALS.get(name.split(" (")[0])
    if goal is None:
        return ""
    if rates is None or database != "postgresql":
        return f">= {goal:.2f}x (not measured here)"
    ratio = rates[index].rate / _fsync_sink(rates).rate
    return f">= {goal:.2f}x: {'met' if ratio >= goal else 'NOT met'}"


def _fsync_sink(rates: list[Rate]) -> Rate:
    return next(rate for rate in rates if rate.name == FSYNC_SINK)
