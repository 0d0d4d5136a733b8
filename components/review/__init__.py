"""Reviewing a change before `pulumi up`: the offline plans of two revisions or stack files, compared.

`compare` (resources created / updated / replaced / deleted, field by field), `replace` (the one list
of replace-forcing fields), `capacity` (quota, pool and NAP figures read from a plan), `plans` (plan
of a file or a git revision), `report` (Markdown for a pull-request comment).
"""

from .compare import PlanDiff, ResourceChange, compare
from .plans import Plan, PlanError, plan_of_file, plan_of_revision
from .report import render

__all__ = ["Plan", "PlanDiff", "PlanError", "ResourceChange", "compare", "plan_of_file", "plan_of_revision", "render"]
