"""Peak memory of ingesting one 25 MiB mail, measured in a fresh process (bench.pipeline runs it).

The probe process sets up a desk on SQLite and ingests a few small mails, so
that every import and cache is in place; the peak resident size then is idle.
It reads the big mail from disk and ingests it; the growth of the peak is the
figure, so it includes holding the raw bytes themselves (1x). The peak is
Linux's VmHWM rather than ru_maxrss: a child's ru_maxrss starts at its
parent's peak (the kernel carries it over exec), which here is the whole mix.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.mail_desk import fresh_desk, scratch_dir, smtp_envelope
from bench.mail_mix import big_mail, generate_mix
from helpdesk.settings import DEFAULT_MAX_MESSAGE_BYTES, Settings

BIG_MAIL_BYTES = DEFAULT_MAX_MESSAGE_BYTES  # 25 MiB, the most the gateway accepts
WARMUP_MAILS = 20


@dataclass(frozen=True)
class MemoryFigures:
    """Bytes of peak resident memory before and during the big mail, and its size."""

    idle: int
    peak: int
    size: int
    action: str  # what the pipeline made of the mail

    @property
    def multiple(self) -> float:
        """Return the growth above idle as a multiple of the mail's size."""
        return (self.peak - self.idle) / self.size


def peak_memory(base: Path) -> MemoryFigures:
    """Write the big mail into `base` and probe it in a fresh process; return the figures."""
    path = base / "big.eml"
    path.write_bytes(big_mail(BIG_MAIL_BYTES))
    print(f"peak memory for one {path.stat().st_size / 2**20:.1f} MiB mail (fresh process) ...",
          flush=True)  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_memory", str(path)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"the memory probe failed:\n{done.stderr}")
    figures = MemoryFigures(**json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"  idle {figures.idle / 2**20:.0f} MiB, peak {figures.peak / 2**20:.0f} MiB, "
          f"outcome: {figures.action}", flush=True)  # fmt: skip
    return figures


def probe(path: Path) -> MemoryFigures:
    """Set up and warm up a desk, then ingest the mail at `path`, reading ru_maxrss around it."""
    with scratch_dir() as base:
        ingest = fresh_desk(Settings.for_var_dir(base / "var"))
        for mail in generate_mix(WARMUP_MAILS, seed=999):
            ingest.process(mail.data, smtp_envelope(mail.sender))
        idle = _max_rss()
        data = path.read_bytes()
        results = ingest.process(data, smtp_envelope("big.sender@example.com"))
        peak = _max_rss()
    actions = ", ".join(sorted({result.action for result in results}))
    return MemoryFigures(idle, peak, len(data), actions)


def _max_rss() -> int:
    """Return this process's peak resident size in bytes."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    # Without /proc: ru_maxrss, in kilobytes as Linux and the BSDs count it.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    print(json.dumps(asdict(probe(Path(sys.argv[1])))))
