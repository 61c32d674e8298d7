"""Tests for the bot and the retrieval engine."""
