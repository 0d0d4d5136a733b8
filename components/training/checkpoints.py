"""Checkpoint files: atomic write, integrity check, discovery, resume choice and rotation (pure, no torch).

One checkpoint is one file `step-<9 digits>.ckpt` (the number of optimizer steps completed): a header
(magic, payload length, SHA-256 of the payload) then the payload bytes (whatever the trainer
serialised). A single file because the team bucket is a flat-namespace GCS bucket mounted through
Cloud Storage FUSE, where only objects are atomic: a new object becomes visible only when finalised on
close, and a file rename is a copy to the new name then a delete, a directory rename is not atomic
(GoogleCloudPlatform/gcsfuse `docs/semantics.md`: "Streaming Writes", "Hierarchical Namespaces").

Writing: the payload goes to a hidden temp name in the same directory, is flushed, fsynced and closed
(which finalises the object), then renamed onto the final name. A reader therefore never sees a
half-written file under the final name on a POSIX filesystem; on any filesystem where that does not
hold (or a file was cut short), the header's length and hash expose it and the file is skipped:
resume falls back to the newest checkpoint that verifies.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from pathlib import Path
from typing import Callable, Iterable, Optional

MAGIC = b"BPCKPT1\n"
_HEADER = struct.Struct(">8sQ32s")  # magic, payload length, sha256(payload)
_NAME = re.compile(r"^step-(\d{9})\.ckpt$")
_TEMP = re.compile(r"^\.step-(\d{9})\.ckpt\.tmp\.")


def checkpoint_name(step: int) -> str:
    if not 0 <= step < 10**9:
        raise ValueError(f"checkpoint step {step} out of range 0..999999999")
    return f"step-{step:09d}.ckpt"


def parse_step(name: str) -> Optional[int]:
    """The step of a final checkpoint name; None for anything else (temps, foreign files)."""
    match = _NAME.match(name)
    return int(match.group(1)) if match else None


def encode(payload: bytes) -> bytes:
    return _HEADER.pack(MAGIC, len(payload), hashlib.sha256(payload).digest()) + payload


def decode(blob: bytes) -> Optional[bytes]:
    """The payload if `blob` is a complete, uncorrupted checkpoint; None if torn or foreign."""
    if len(blob) < _HEADER.size:
        return None
    magic, length, digest = _HEADER.unpack_from(blob)
    payload = blob[_HEADER.size:]
    if magic != MAGIC or len(payload) != length or hashlib.sha256(payload).digest() != digest:
        return None
    return payload


def steps_newest_first(names: Iterable[str]) -> list[int]:
    return sorted({s for s in map(parse_step, names) if s is not None}, reverse=True)


def select_resume(names: Iterable[str], load: Callable[[int], Optional[bytes]]) -> Optional[tuple[int, bytes]]:
    """The newest checkpoint whose `load(step)` verifies, as (step, payload); None to start fresh."""
    for step in steps_newest_first(names):
        payload = load(step)
        if payload is not None:
            return step, payload
    return None


def resume_step(checkpoint_step: Optional[int], total_steps: int) -> int:
    """The first step to run: after the checkpoint, or 0 without one; == total_steps means done."""
    if checkpoint_step is None:
        return 0
    return min(checkpoint_step, total_steps)


def plan_rotation(names: Iterable[str], keep: int, current_step: int) -> list[str]:
    """Names to delete after writing `current_step`: older checkpoints beyond the newest `keep`, every
    checkpoint newer than `current_step` (a future this run did not reach: torn, or we resumed
    before it because it failed to verify), and temp files of writes that never completed."""
    if keep < 1:
        raise ValueError("keep must be >= 1: the checkpoint just written is always kept")
    names = list(names)
    steps = steps_newest_first(names)
    kept = [s for s in steps if s <= current_step][:keep]
    doomed = [checkpoint_name(s) for s in steps if s not in kept]
    doomed += [n for n in names if _TEMP.match(n)]
    return sorted(doomed)


class CheckpointDir:
    """A checkpoint directory on disk (the mounted team bucket path). Only rank 0 writes."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def names(self) -> list[str]:
        try:
            return os.listdir(self.path)
        except FileNotFoundError:
            return []

    def read(self, step: int) -> Optional[bytes]:
        try:
            blob = (self.path / checkpoint_name(step)).read_bytes()
        except OSError:
            return None
        return decode(blob)

    def latest(self) -> Optional[tuple[int, bytes]]:
        return select_resume(self.names(), self.read)

    def write(self, step: int, payload: bytes) -> Path:
        """Write atomically: temp file, fsync, close, rename onto the final name."""
        self.path.mkdir(parents=True, exist_ok=True)
        final = self.path / checkpoint_name(step)
        temp = self.path / f".{final.name}.tmp.{os.getpid()}"
        with open(temp, "wb") as handle:
            handle.write(encode(payload))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
        self._sync_dir()
        return final

    def rotate(self, keep: int, current_step: int) -> list[str]:
        doomed = plan_rotation(self.names(), keep, current_step)
        for name in doomed:
            try:
                (self.path / name).unlink()
            except FileNotFoundError:
                pass
        return doomed

    def _sync_dir(self) -> None:
        # Makes the rename durable on a local filesystem; FUSE mounts may not support it.
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
