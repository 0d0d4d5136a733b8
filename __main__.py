"""Pulumi entry point: the whole platform is derived from the stack's `platform` config."""

from components.platform import build_platform

build_platform()
