"""``init``: a data folder of the deployment's own, apart from the code (docs/DEPLOY.md)."""

from __future__ import annotations

import argparse

from bot.cli._common import _, language
from bot.config import Config


def cmd_init(args: argparse.Namespace, config: Config | None) -> int:
    """Write a starter config and make the knowledge and state folders under ``args.folder``."""
    from bot.services.data_folder import init_data_folder

    made = init_data_folder(args.folder, args.config, language=language())
    print(
        _(
            "cli.init.done",
            config=made.config,
            knowledge=made.knowledge_dir,
            state=made.state_dir,
        )
    )
    print(_("cli.init.next", config=made.config))
    return 0
