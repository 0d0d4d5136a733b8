"""The edge: raw stack config in, a validated `Platform` out, or a `ConfigError` listing every problem.

Structure is validated section by section (each top-level key on its own), so a broken section
never hides the problems of another: the cross-field checks then run on a partial model in which a
broken section is a placeholder, and a check that needs a broken section is skipped (its problems
would only echo the structural error already reported). A section whose every problem has a
mechanical fix (a misspelled key, a value the fix spells out) is judged as it reads after those fixes.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import TypeAdapter, ValidationError

from .checks import semantic_issues
from .fleet_derive import quota_path
from .fleet_files import derive_worker
from .errors import ConfigError, Issue, apply_fix
from .stack_file import CONFIG_KEY
from .translate import MISSING, translate
from .schema import Platform


class SectionUnavailable(Exception):
    """A check touched a section that failed structural validation."""


class _Broken:
    """Stands in for a section that did not parse; any use of it skips the check that uses it."""

    def __init__(self, key: str):
        object.__setattr__(self, "_key", key)

    def _unavailable(self, *_: Any, **__: Any) -> Any:
        raise SectionUnavailable(object.__getattribute__(self, "_key"))

    __getattr__ = __iter__ = __len__ = __bool__ = __getitem__ = __contains__ = _unavailable
    __eq__ = __ne__ = __hash__ = __str__ = __format__ = __int__ = __index__ = __float__ = _unavailable
    __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __sub__ = __rsub__ = _unavailable
    __mul__ = __rmul__ = __truediv__ = __floordiv__ = __mod__ = __rmod__ = _unavailable


@cache
def _sections() -> dict[str, tuple[str, TypeAdapter]]:
    """alias -> (field name, validator of that one section)."""
    from typing import Annotated

    out = {}
    for name, field in Platform.model_fields.items():
        annotation = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        out[field.alias or name] = (name, TypeAdapter(annotation))
    return out


def _structure(raw: Mapping) -> tuple[dict[str, Any], list[Issue]]:
    """Every section validated on its own: (field name -> value or _Broken, issues)."""
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    sections = _sections()
    by_name = {name: alias for alias, (name, _) in sections.items()}
    for key in raw:
        if key not in sections and key not in by_name:
            issues.append(translate({"type": "extra_forbidden", "loc": (key,), "input": raw[key]}))
    for alias, (name, adapter) in sections.items():
        present = alias in raw or name in raw
        if not present:
            field = Platform.model_fields[name]
            if field.is_required():
                issues.append(translate({"type": "missing", "loc": (alias,), "input": raw}))
                values[name] = _Broken(alias)
            continue
        section = raw[alias] if alias in raw else raw[name]
        try:
            values[name] = adapter.validate_python(section)
        except ValidationError as err:
            found = _one_per_typo([translate({**e, "loc": (alias, *e["loc"])}) for e in err.errors()])
            issues.extend(found)
            values[name] = _repaired(adapter, alias, section, found)
    return values, _one_per_typo(issues)


def _one_per_typo(issues: list[Issue]) -> list[Issue]:
    """A misspelled key also leaves the real key missing: report the misspelling only."""
    renamed = {issue.path.rsplit(".", 1)[0] + "." + issue.rename if "." in issue.path else issue.rename
               for issue in issues if issue.rename}
    return [i for i in issues if not (i.message == MISSING and i.path in renamed)]


def _repaired(adapter: TypeAdapter, alias: str, section: Any, found: list[Issue]) -> Any:
    """The section as it reads once every problem is fixed the way its issue says (rename, remove, or
    write the example), so the cross-field checks still judge it; a placeholder when any problem has
    no such mechanical fix."""
    if not all(issue.rename or issue.example is not None for issue in found):
        return _Broken(alias)
    fixed = {alias: copy.deepcopy(section)}
    try:
        for issue in found:
            apply_fix(fixed, issue)
        return adapter.validate_python(fixed[alias])
    except (ValidationError, LookupError, TypeError):
        return _Broken(alias)


def parse_platform(raw: Any, source: str = "stack config", directory: Optional[Path] = None) -> Platform:
    """Validate once: structure per section, then the cross-field rules on what parsed, all issues together.
    A fleet worker's teams are first derived from its manager's stack file in `directory` (default: the
    checkout's root, where the stack files are)."""
    if not isinstance(raw, Mapping):
        shown = "text" if isinstance(raw, str) else "a list" if isinstance(raw, list) else "nothing" if raw is None else repr(raw)
        raise ConfigError([Issue(CONFIG_KEY, f"expected a mapping of keys (project, region, ...), got {shown}",
                                 "indent the platform keys under it, as in Pulumi.dev.yaml")], source)
    worker = isinstance(raw.get("fleet"), Mapping) and raw["fleet"].get("role") == "worker"
    if worker:
        raw, manager, derived = derive_worker(raw, directory, parse_platform)
        try:
            platform = _parse(raw, source)
        except ConfigError as err:
            teams = raw.get("teams") or []
            found = [quota_path(i, teams, dict(raw["fleet"])) for i in err.issues if not (i.path == "teams" and not teams)]
            raise ConfigError(derived + found, source) from None
        if derived:
            raise ConfigError(derived, source)
        platform.fleet._manager = manager
        return platform
    return _parse(raw, source)


def _parse(raw: Mapping, source: str) -> Platform:
    values, issues = _structure(raw)
    broken = any(isinstance(v, _Broken) for v in values.values())
    if not broken and not issues:
        try:
            platform = Platform.model_validate(raw)
        except ValidationError as err:  # a top-level scalar (sections were validated above)
            raise ConfigError([translate(e) for e in err.errors()], source) from None
        issues = semantic_issues(platform)
    else:
        partial = Platform.model_construct(**values)
        issues += semantic_issues(partial, skip=SectionUnavailable)
    if issues:
        raise ConfigError(issues, source)
    return platform


def decoded_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A stack's config map as Pulumi hands it to the program, each structured value decoded."""
    return {key: _decoded(value) for key, value in config.items()}


def _decoded(value: Any) -> Any:
    """Pulumi hands structured config values over as JSON text."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_last_parsed: tuple[str, Platform] | None = None


def parse_platform_value(value: str, source: str) -> Platform:
    """parse_platform of the config value as Pulumi hands it over (JSON text, or a plain string that
    parse_platform reports with the fix). The last valid one is kept: a command that runs the program
    and then reads the same stack's model validates it once. `source` only names the file in errors."""
    global _last_parsed
    if _last_parsed is not None and _last_parsed[0] == value:
        return _last_parsed[1]
    platform = parse_platform(_decoded(value), source)
    _last_parsed = (value, platform)
    return platform
