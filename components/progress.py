"""Progress of a long command: one line per phase on stderr, for a person at a terminal only.

Quiet when stderr is not a terminal (piped, redirected, captured by tests) and under CI (the `CI`
variable GitHub Actions, GitLab and .ci/run set), so logs and piped output stay exactly the command's
own. A phase line is written when the phase starts, with the seconds since the command began.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, TextIO


def wanted(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("CI")


class Progress:
    def __init__(self, command: str, stream: Optional[TextIO] = None, enabled: Optional[bool] = None):
        self.command = command
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.start = time.perf_counter()

    def phase(self, text: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            print(f"[{elapsed:5.1f}s] {self.command}: {text}", file=self.stream, flush=True)
