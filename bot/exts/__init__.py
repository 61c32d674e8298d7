"""The bot's features, one extension per module, each ending in ``async def setup(bot)``."""
