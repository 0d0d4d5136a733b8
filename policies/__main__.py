"""Policy pack entry point: `pulumi preview --policy-pack policies`.

The Pulumi CLI runs this file with `runpy.run_path(<pack dir>)` (pulumi.policy.__main__), with the pack
directory as working directory and on sys.path, in the pack's own virtualenv (policies/venv, from
requirements.txt). So the policies live in the sibling package `gpu_batch_policies`, imported by its
top-level name: a relative import would fail here (this file runs as the top-level module `__main__`,
not as `policies.__main__`), while the same package also imports as `policies.gpu_batch_policies` for the
offline runner. The directory is put on sys.path explicitly as well, so running `python policies` or
`python policies/__main__.py` from anywhere behaves the same.
"""

import os
import sys

_PACK_DIR = os.path.dirname(os.path.abspath(__file__))
if _PACK_DIR not in sys.path:
    sys.path.insert(0, _PACK_DIR)

from pulumi_policy import PolicyPack  # noqa: E402

from gpu_batch_policies import PACK_DESCRIPTION, PACK_ENFORCEMENT, PACK_NAME, POLICIES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    enforcement_level=PACK_ENFORCEMENT,
    policies=POLICIES,
)
