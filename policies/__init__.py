"""The platform's Pulumi policy pack (see PulumiPolicy.yaml and __main__.py).

This file only makes `policies` importable from the repository root for the offline runner
(`python -m policies.runner`) and the tests; the Pulumi CLI never imports it.
"""
