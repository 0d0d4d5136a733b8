"""Comments, docstrings and docs reference only what a reader can open: files in this repository,
upstream sources by name, and design decisions that docs/design.md defines. Issue numbers and notes
kept outside the repository mean nothing to a reader of the code."""

from __future__ import annotations

import re
import subprocess

from components.capture import REPO

DESIGN = (REPO / "docs" / "design.md").read_text()
# A bare issue/defect number (an upstream issue is written owner/repo#N and is fine), and documents
# that live outside the repository.
NOT_IN_REPO = re.compile(r"\b(?:[Ii]ssue|[Dd]efect)s? #?\d+\b|\b(?:kueue|refarch|style)\.md\b|closing note")
DESIGN_ID = re.compile(r"\bD(\d+)\b")


def _files() -> dict[str, str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", "components", "tests", "bench",
                             "policies", "docs", "README.md", "Makefile", ".ci", "platform/schemas/README.md"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return {name: (REPO / name).read_text() for name in listed
            if name.endswith((".py", ".md", "Makefile", "run")) and (REPO / name).is_file()}


FILES = _files()


def test_no_references_to_issue_numbers_or_documents_outside_the_repo() -> None:
    found = [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
             for name, text in FILES.items() if name != "tests/test_references.py"
             for m in NOT_IN_REPO.finditer(text)]
    assert not found, "say what is meant, or cite a file of the repository or an upstream source: " + "; ".join(found)


def test_every_design_id_cited_is_defined_in_docs_design() -> None:
    defined = set(re.findall(r"^- \*\*D(\d+)[:*]", DESIGN, re.M))
    cited = {(name, n) for name, text in FILES.items() for n in DESIGN_ID.findall(text)}
    assert cited, "no design decision is cited (the pattern is wrong?)"
    undefined = sorted(f"{name}: D{n}" for name, n in cited if n not in defined)
    assert not undefined, f"design IDs used but not defined in docs/design.md 'Design decisions': {undefined}"


def test_every_readme_section_cited_exists() -> None:
    """`README "Title"` in code or docs names a section the README has (moved sections live in docs/)."""
    headings = re.findall(r"^#+ (.+)$", (REPO / "README.md").read_text(), re.M)
    cited = {(name, title) for name, text in FILES.items() if name != "tests/test_references.py"
             for title in re.findall(r'README \\?"([^"\\]+)\\?"', text)}
    missing = sorted(f"{name}: README \"{title}\"" for name, title in cited
                     if not any(h.startswith(title) for h in headings))
    assert not missing, f"sections the README does not have (see docs/*.md): {missing}"
