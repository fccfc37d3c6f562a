"""``python -m db2api.cli``: the same command as the ``db2api`` script."""

import sys

from db2api.cli import main

sys.exit(main())
