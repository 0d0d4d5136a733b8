"""The repository never tracks a virtualenv: worktrees share one through a `.venv` symlink, and a
tracked `.venv` replaces the shared venv directory of every checkout it is merged into (git removes
ignored files that stand where a tracked file arrives)."""

from __future__ import annotations

import subprocess

from components.capture import REPO


def test_no_virtualenv_is_tracked():
    tracked = subprocess.run(["git", "ls-files", "--", ".venv", ".venv-torch", "policies/venv"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == [], f"remove from the index: git rm --cached {' '.join(tracked)}"
