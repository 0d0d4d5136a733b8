"""The example pipeline's non-training steps (`python -m batch_training.pipeline <step> ...`).

Shipped with the trainer in the code ConfigMap, so a pipeline needs no image of its own. Each step reads
and writes the team bucket mounted at /data:
- `prep RUN TRIAL...`: the data-preparation stand-in. The trainer draws synthetic data from its seed
  (train.py), so there is nothing to download: it records the run's trials in RUN/manifest.json, the
  place a real ETL step would write its dataset and its manifest;
- `evaluate OUT CHECKPOINTS...`: loads each trial's newest checkpoint that verifies (checkpoints.py),
  scores it on held-out synthetic batches (a rank no training process uses) and writes OUT/eval.json
  with every loss and the best trial's directory. Needs torch, imported only here;
- `publish EVAL MODELS`: copies the newest verifying checkpoint of the best trial named in EVAL (the
  eval.json) into MODELS with the same atomic write the trainer uses, so a reader of MODELS never sees
  half a model.
Exit codes are the trainer's (launch.py): 2 for a bad invocation or missing input, which a retry
cannot fix.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from .checkpoints import CheckpointDir
from .launch import EXIT_BAD_CONFIG, EXIT_OK
from .settings import ENV_SEED, Settings

HELD_OUT_RANK = 1 << 11  # synthetic_batch's rank field: beyond any training rank, so never a training batch
HELD_OUT_BATCHES = 8


def prep(run: Path, trials: Sequence[str]) -> dict:
    manifest = {"trials": list(trials)}
    run.mkdir(parents=True, exist_ok=True)
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def best(scores: dict[str, float]) -> str:
    """The trial with the lowest held-out loss (ties: the first name in sorted order)."""
    return min(sorted(scores), key=lambda name: scores[name])


def _score(payload: bytes, seed: int) -> float:  # pragma: no cover - needs torch (make test-torch)
    import torch

    from .train import build_model, deserialize, synthetic_batch

    model = build_model(seed)
    model.load_state_dict(deserialize(payload)["model"])
    with torch.no_grad():
        losses = [torch.nn.functional.mse_loss(model(x), y).item()
                  for x, y in (synthetic_batch(seed, step, HELD_OUT_RANK) for step in range(HELD_OUT_BATCHES))]
    return sum(losses) / len(losses)


def evaluate(out: Path, checkpoints: Sequence[Path], seed: int, score=_score) -> Optional[str]:
    scores = {}
    for directory in checkpoints:
        latest = CheckpointDir(directory).latest()
        if latest is None:
            print(f"evaluate: no checkpoint that verifies in {directory}", file=sys.stderr)
            return None
        scores[str(directory)] = score(latest[1], seed)
    winner = best(scores)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps({"loss": scores, "best": winner}, indent=2) + "\n")
    return winner


def publish(report: Path, models: Path) -> Optional[Path]:
    try:
        source = Path(json.loads(report.read_text())["best"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"publish: {report} names no best trial ({err})", file=sys.stderr)
        return None
    latest = CheckpointDir(source).latest()
    if latest is None:
        print(f"publish: no checkpoint that verifies in {source}", file=sys.stderr)
        return None
    return CheckpointDir(models).write(*latest)


def main(argv: Sequence[str]) -> int:
    step, args = (argv[0], list(argv[1:])) if argv else ("", [])
    if step == "prep" and len(args) >= 2:
        prep(Path(args[0]), args[1:])
        return EXIT_OK
    if step == "evaluate" and len(args) >= 2:
        winner = evaluate(Path(args[0]), [Path(a) for a in args[1:]], int(os.environ.get(ENV_SEED) or Settings.seed))
        return EXIT_BAD_CONFIG if winner is None else EXIT_OK
    if step == "publish" and len(args) == 2:
        return EXIT_OK if publish(Path(args[0]), Path(args[1])) else EXIT_BAD_CONFIG
    print("usage: python -m batch_training.pipeline prep RUN TRIAL... | evaluate OUT CHECKPOINT_DIR... | "
          "publish EVAL_JSON MODEL_DIR", file=sys.stderr)
    return EXIT_BAD_CONFIG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
