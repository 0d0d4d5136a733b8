"""Shared fixtures: the dev stack's config, offline captures of the real program, and ConfigError helpers.

Every config handed out is a fresh copy that shares nothing: a JSON round trip, because
`copy.deepcopy` keeps the sharing a YAML anchor creates (a stack file using `&queues` / `*queues`
would otherwise let a mutation of one team silently change every team).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import yaml

from components.model import ConfigError, Issue, parse_platform
from components.capture import PROJECT, REPO, Capture, run_stack

PLATFORM_KEY = f"{PROJECT}:platform"
DEV_STACK_FILE = REPO / "Pulumi.dev.yaml"

Mutate = Callable[[dict], Any]


def _plain(value: Any) -> Any:
    """A deep copy that shares nothing (YAML anchors/aliases become independent copies)."""
    return json.loads(json.dumps(value))


STACKS = ("dev", "prod")  # every shipped Pulumi.<stack>.yaml; tests that must hold for each use this
# The dev fleet (docs/operating.md "Scaling out to several regions"): a MultiKueue manager and its worker, one stack
# each; tests/kubernetes/test_fleet.py plans and checks them.
FLEET_STACKS = ("fleet-manager", "fleet-worker-eu")


def load_dev_config() -> dict:
    """Pulumi.dev.yaml's whole `config:` map, as a fresh copy."""
    return load_stack_config("dev")


def load_stack_config(stack: str) -> dict:
    """Pulumi.<stack>.yaml's whole `config:` map, as a fresh copy."""
    return _plain(yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"])


def load_dev_platform_raw() -> dict:
    """The `gpu-batch-platform:platform` block of the dev stack, as a fresh copy."""
    return load_dev_config()[PLATFORM_KEY]


# The one "fifth team" of the suite: the entry README "Add a team" shows and docs/examples/dev-add-team-e.yaml adds.
FIFTH_TEAM_EXAMPLE = REPO / "docs" / "examples" / "dev-add-team-e.yaml"


def fifth_team(**changes: Any) -> dict:
    """A fresh copy of the example's team-e entry, with `changes` (a key set to None is removed)."""
    entry = _plain(yaml.safe_load(FIFTH_TEAM_EXAMPLE.read_text())["config"][PLATFORM_KEY]["teams"][-1])
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def add_fifth_team(raw: dict, **changes: Any) -> None:
    """Append `fifth_team(**changes)` to a platform dict (a `Mutate`)."""
    raw["teams"].append(fifth_team(**changes))


def config_with(mutate: Optional[Mutate] = None) -> dict:
    """The dev `config:` map with `mutate(platform_dict)` applied to its platform block."""
    config = load_dev_config()
    if mutate is not None:
        mutate(config[PLATFORM_KEY])
    return config


# CI sets this (.ci/run): a test marked needs_tools whose program is missing fails there instead of skipping.
REQUIRE_REAL_PARTS = bool(os.environ.get("CI_REQUIRE_REAL_PARTS"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_tools(*programs, hint): runs real programs; skipped where one is missing, "
        "failed instead when CI_REQUIRE_REAL_PARTS is set")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture of the test runs (a session fixture may start the program)."""
    for mark in item.iter_markers("needs_tools"):
        missing = [program for program in mark.args if shutil.which(program) is None]
        if missing:
            message = f"{', '.join(missing)} missing: {mark.kwargs['hint']}"
            if REQUIRE_REAL_PARTS:
                pytest.fail(f"{message} (CI_REQUIRE_REAL_PARTS is set: CI requires the real programs)",
                            pytrace=False)
            pytest.skip(message)


_CAPTURES: dict[str, Capture] = {}


def capture_of(config: dict, stack: str = "dev") -> Capture:
    """Run the real program under mocks with `config`; identical configs share one (read-only) capture."""
    key = stack + "\n" + json.dumps(config, sort_keys=True)
    if key not in _CAPTURES:
        _CAPTURES[key] = run_stack(stack, config=_plain(config))
    return _CAPTURES[key]


def run_with(mutate: Optional[Mutate] = None) -> Capture:
    """Copy the dev config, apply `mutate(platform_dict)`, run the program and return its Capture."""
    return capture_of(config_with(mutate))


def config_error(raw: Any) -> ConfigError:
    """parse_platform(raw) must fail; returns the ConfigError."""
    with pytest.raises(ConfigError) as info:
        parse_platform(raw)
    return info.value


def _describe(err: ConfigError) -> str:
    return "\n".join(f"  {issue.path!r}: {issue.message!r} (fix: {issue.fix!r})" for issue in err.issues)


def find_issue(err: ConfigError, path: str, message: str = "") -> Optional[Issue]:
    for issue in err.issues:
        if issue.path == path and message in issue.message:
            return issue
    return None


def assert_issue(err: ConfigError, path: str, message: str = "", fix: Optional[str] = None) -> Issue:
    """`err` has an issue at exactly `path` whose message contains `message` (and whose fix contains `fix`).

    The rendered error (what a user sees) must show the path and, when the issue has one, the fix.
    """
    assert isinstance(err, ConfigError), f"expected a ConfigError, got {type(err).__name__}: {err}"
    issue = find_issue(err, path, message)
    assert issue is not None, f"no issue at {path!r} containing {message!r}; issues were:\n{_describe(err)}"
    if fix is not None:
        assert fix in issue.fix, f"fix of {path!r} is {issue.fix!r}, expected it to contain {fix!r}"
    rendered = str(err)
    assert f"{path}: " in rendered
    if issue.fix:
        assert f"(fix: {issue.fix})" in rendered
    return issue


def assert_no_issue(err: ConfigError, path: str, message: str = "") -> None:
    found = find_issue(err, path, message)
    assert found is None, f"unexpected issue {found}"


@pytest.fixture
def dev_config() -> dict:
    """Deep (alias-free) copy of Pulumi.dev.yaml's whole `config:` map."""
    return load_dev_config()


@pytest.fixture
def dev_platform_raw() -> dict:
    """Deep (alias-free) copy of the dev stack's `gpu-batch-platform:platform` dict."""
    return load_dev_platform_raw()


@pytest.fixture(scope="session")
def dev_capture() -> Capture:
    """The dev stack run once under Pulumi mocks. Read it, never mutate it."""
    return capture_of(load_dev_config())


@pytest.fixture(scope="session", params=STACKS)
def stack_capture(request) -> Capture:
    """Each shipped stack run once under Pulumi mocks (parametrized: dev, prod). Read, never mutate."""
    return capture_of(load_stack_config(request.param), request.param)


@pytest.fixture(scope="session")
def cli_plan(tmp_path_factory) -> Callable[[str], tuple[int, str, str, Path]]:
    """`cli_plan(stack)`: the user's `python -m components.cli plan <stack> --out DIR`, run once per stack
    in the session: (exit code, stdout, stderr, out dir). Captured by hand (capsys is per test)."""
    from components.cli import main as cli

    runs: dict[str, tuple[int, str, str, Path]] = {}

    def plan(stack: str) -> tuple[int, str, str, Path]:
        if stack not in runs:
            out = tmp_path_factory.mktemp(f"plan-{stack}")
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = cli(["plan", stack, "--out", str(out)])
            runs[stack] = code, stdout.getvalue(), stderr.getvalue(), out
        return runs[stack]

    return plan


@pytest.fixture
def capture_with() -> Callable[[Mutate], Capture]:
    """`capture_with(mutate)`: dev config, `mutate(platform_dict)`, run the program, return the Capture."""
    return run_with


@pytest.fixture(name="assert_issue")
def assert_issue_fixture() -> Callable[..., Issue]:
    """`assert_issue(err, "teams[2].queues.high[0].gpus", "over-subscribed", fix=None)`."""
    return assert_issue
