"""Types shared by the whole engine and the bot: who may read, and in which language."""

from __future__ import annotations

from typing import Literal

Visibility = Literal["public", "internal"]
"""Who may read a document: everyone, or only staff (internal readers also see public)."""

Language = Literal["sv", "en"]
"""The language of a question, an answer's framing and the bot's messages."""
