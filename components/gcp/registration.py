"""The GCP resources a stack makes per team, registered exactly as their typed pulumi-gcp classes would.

Each team brings seven or so (service account, IAM members, bucket): 7,000 at 1000 teams. pulumi-gcp's
typed classes register every output a resource has (a Bucket: forty) and translate inputs and outputs
through their Python types; the engine sees none of that. `register` sends the same
RegisterResourceRequest through a generic CustomResource: the type token, the inputs under their wire
names, the SDK's version and plugin URL, and the options each pinned class adds (its `_internal_init`),
in less than half the time. tests/gcp/test_gcp_registration.py compares both requests for every type here.
"""

from __future__ import annotations

from typing import Iterable

import pulumi
import pulumi_gcp as gcp

ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_IAM_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"

# What each class of pulumi-gcp 10.2.0 adds to the caller's options: aliases (the old type names) and outputs
# it always marks secret.
CLASS_ALIASES = {ACCOUNT: ("gcp:serviceAccount/account:Account",),
                 ACCOUNT_IAM_MEMBER: ("gcp:serviceAccount/iAMMember:IAMMember",)}
CLASS_SECRET_OUTPUTS = {BUCKET: ("effectiveLabels", "pulumiLabels")}
REGISTERED = (ACCOUNT, ACCOUNT_IAM_MEMBER, PROJECT_IAM_MEMBER, BUCKET, BUCKET_IAM_MEMBER)


def register(type_: str, name: str, inputs: dict, opts: pulumi.ResourceOptions,
             reads: Iterable[str] = ()) -> pulumi.CustomResource:
    """Create one resource of a REGISTERED type from its inputs (wire names: camelCase, as the provider
    schema has them); each output in `reads` becomes an attribute (`account.email`), as on the typed class."""
    if type_ not in REGISTERED:
        raise ValueError(f"{type_} is not registered here: use its pulumi-gcp class")
    sdk = pulumi.ResourceOptions(version=gcp._utilities.get_version(),
                                 plugin_download_url=gcp._utilities.get_plugin_download_url())
    opts = pulumi.ResourceOptions.merge(sdk, opts)
    # Appended after the caller's, as the class's second merge does (new lists: the merged options are ours).
    if type_ in CLASS_ALIASES:
        opts.aliases = [*(opts.aliases or []), *(pulumi.Alias(type_=alias) for alias in CLASS_ALIASES[type_])]
    if type_ in CLASS_SECRET_OUTPUTS:
        opts.additional_secret_outputs = [*(opts.additional_secret_outputs or []), *CLASS_SECRET_OUTPUTS[type_]]
    # An output read is declared as a None input: serialised as absent, so the request does not change.
    return pulumi.CustomResource(type_, name, {**dict.fromkeys(reads), **inputs}, opts)
