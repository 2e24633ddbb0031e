"""What the doctor reports: findings (what was found, why it blocks, the fix) and the checklist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """A problem keeps mail from becoming tickets; a warning is worth a look."""

    PROBLEM = "problem"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing wrong: what was found, why it matters, and the exact fix."""

    severity: Severity
    found: str
    why: str
    fix: str


def problem(found: str, why: str, fix: str) -> Finding:
    return Finding(Severity.PROBLEM, found, why, fix)


def warning(found: str, why: str, fix: str) -> Finding:
    return Finding(Severity.WARNING, found, why, fix)


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Return problems first, then warnings, each in the order they were found."""
    return sorted(findings, key=lambda finding: finding.severity is not Severity.PROBLEM)


def checklist(findings: Sequence[Finding]) -> list[str]:
    """Return the numbered checklist, three lines a finding, and the summary line last."""
    lines = []
    for number, finding in enumerate(ordered(findings), start=1):
        head = f"{number}. "
        indent = " " * len(head)
        lines += [
            f"{head}{finding.severity}: {finding.found}",
            f"{indent}why: {finding.why}",
            f"{indent}fix: {finding.fix}",
        ]
    return [*lines, summary(findings)]


def summary(findings: Sequence[Finding]) -> str:
    """Say in one line how many problems and warnings there are."""
    problems = sum(1 for finding in findings if finding.severity is Severity.PROBLEM)
    warnings = len(findings) - problems
    if problems == 0:
        tail = f"; {_count(warnings, 'warning')}." if warnings else "."
        return "No problems found" + tail
    tail = f" and {_count(warnings, 'warning')}" if warnings else ""
    return f"{_count(problems, 'problem')}{tail} found."


def has_problems(findings: Sequence[Finding]) -> bool:
    return any(finding.severity is Severity.PROBLEM for finding in findings)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
