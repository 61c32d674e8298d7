"""Nätverksboten: the Discord bot and the ``natverksbot`` command line."""
