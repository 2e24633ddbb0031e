"""`helpdesk doctor`: what keeps mail from becoming tickets, why, and the exact fix.

Each check is a small function returning zero or more findings; `examine`
runs them in order. The doctor reads only: its probes (a file in the spool, a
blob in the store, a connection to each door) leave nothing behind.
"""

from helpdesk.doctor.examine import Edges, examine
from helpdesk.doctor.findings import Finding, Severity, checklist, has_problems, summary
from helpdesk.doctor.setup import settings_error

__all__ = [
    "Edges",
    "Finding",
    "Severity",
    "checklist",
    "examine",
    "has_problems",
    "settings_error",
    "summary",
]
