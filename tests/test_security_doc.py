"""docs/security.md's CIS table cites the CIS GKE Benchmark v1.6.0 by its own numbers and titles
(tests/cis_gke_benchmark.py, vendored from kube-bench), and accounts for every item once."""

from __future__ import annotations

import re

from cis_gke_benchmark import ITEMS
from components.capture import REPO

DOC = (REPO / "docs" / "security.md").read_text()
# "**5.4.1** Ensure the GKE Metadata Server is Enabled" up to the next item, cell or sentence end.
CITED = re.compile(r"\*\*(\d+\.\d+\.\d+)\*\*\s+((?:(?!\*\*|\||; \*\*).)+?)(?=; \*\*|;?\s*\||\.?\n\n|$)", re.S)


def _cited() -> list[tuple[str, str]]:
    return [(n, " ".join(title.split()).rstrip(";")) for n, title in CITED.findall(DOC)]


def test_every_cited_item_has_the_benchmarks_number_and_title():
    cited = _cited()
    assert len(cited) > 40, "the pattern found too few items"
    wrong = [f"{n} {t!r} (benchmark: {ITEMS.get(n)!r})" for n, t in cited if ITEMS.get(n) != t]
    assert not wrong, wrong


def test_every_benchmark_item_is_accounted_for_exactly_once():
    numbers = [n for n, _ in _cited()]
    assert sorted(numbers) == sorted(ITEMS), (sorted(set(ITEMS) - set(numbers)),
                                              sorted({n for n in numbers if numbers.count(n) > 1}))


def test_no_bare_item_number_escapes_the_check():
    """An item cited without its bold number and title (e.g. "5.6.7" alone) would not be checked."""
    bare = {m.group(0) for m in re.finditer(r"(?<![*\d.])\b[245]\.\d{1,2}\.\d{1,2}\b(?![*\d])", DOC)}
    assert not bare, bare


def test_every_cis_number_cited_in_the_repository_exists():
    """Code, docs and tests cite items as "CIS GKE [Benchmark] N.N.N": each is a v1.6.0 item."""
    import subprocess
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", "components", "policies", "docs",
                             "tests", "README.md"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    cited = {(name, n) for name in listed if name.endswith((".py", ".md")) and (REPO / name).is_file()
             for n in re.findall(r"CIS GKE(?: Benchmark)?(?: v1\.6\.0)? (\d+\.\d+\.\d+)", (REPO / name).read_text())}
    assert len(cited) > 10
    assert not [c for c in cited if c[1] not in ITEMS], [c for c in cited if c[1] not in ITEMS]
