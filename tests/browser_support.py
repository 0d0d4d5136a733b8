"""Debian's headless Chromium for the tests that render a page (the platform picture, the dashboard previews)."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
needs_browser = pytest.mark.needs_tools(
    "chromium", hint="apt-get install -y chromium (.ci/run installs it and requires it)")
