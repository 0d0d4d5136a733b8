import os
import sys

from components.cli import main

code = main()
# Skip the interpreter's clean-up: it would free the program run's objects one by one (about a second
# for dev, several at scale) and nothing is left to write: files are closed, the output is flushed here.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
