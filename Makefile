# The README's two commands: `make plan` (set up + offline plan of dev) and `make test`.
# Every other target is a command of the project's CLI: `python -m components.cli --help`.
PY := .venv/bin/python
STACK ?= dev

.PHONY: plan test test-torch venv policy bench bench-scale clean

# The first `make plan` installs the pinned dependencies (about a minute of quiet pip): say so on a
# terminal, nothing when stderr is piped or under CI.
PROGRESS = if [ -t 2 ] && [ -z "$$CI" ]; then echo "$(1)" >&2; fi

.venv/.installed: requirements.txt requirements-dev.txt constraints.txt
	@$(call PROGRESS,make: setting up .venv and installing the pinned dependencies (about a minute the first time))
	[ -x $(PY) ] || python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@$(call PROGRESS,make: dependencies installed)
	touch $@

venv: .venv/.installed

plan: venv
	$(PY) -m components.cli plan $(STACK)

test: venv
	$(PY) -m pytest

# Optional, and not a CLI command: a real 2-process training run, interrupted and resumed (needs
# torch; not in CI). Its own venv holds only torch + pytest, so the suite's conftest is not loaded.
.venv-torch/.installed: requirements-torch.txt constraints.txt
	python3 -m venv .venv-torch
	.venv-torch/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-torch.txt -c constraints.txt
	touch $@

test-torch: .venv-torch/.installed
	.venv-torch/bin/python -m pytest --noconftest -o addopts="" -m torch -v tests/training/test_training_torch.py

policy: venv
	$(PY) -m components.cli policy $(STACK)

bench: venv
	$(PY) bench/plan_time.py

bench-scale: venv
	$(PY) bench/scale.py

clean:
	rm -rf build .pytest_cache
