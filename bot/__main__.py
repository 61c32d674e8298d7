"""``python -m bot`` runs the ``natverksbot`` command line."""

import sys

from bot.cli import main

# Guarded: a document reader's child process (spawned) imports this module again.
if __name__ == "__main__":
    sys.exit(main())
