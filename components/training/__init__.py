"""Resumable PyTorch DDP training workload for the platform's Jobs and JobSets.

Pure modules (standard library only; the default test suite imports them without torch):
`topology` (pod environment -> rank, world size, rendezvous address), `settings` (run knobs),
`checkpoints` (atomic single-file checkpoints, discovery, resume choice, rotation), `launch` (the
container's entry point: one worker per GPU, signal forwarding, exit codes) and `contract` (what the
workload renderer must give the container: image, command, env, port, mounts). `train` is the torch
worker. The contract is documented in `contract`'s docstring.
"""
