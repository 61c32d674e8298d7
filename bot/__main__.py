"""``python -m bot`` runs the ``natverksbot`` command line."""

import sys

from bot.cli import main

sys.exit(main())
