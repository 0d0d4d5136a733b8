"""`python -m batch_training` (in the container) or `python -m components.training` (here): the launcher."""

import sys

from .launch import main

sys.exit(main())
