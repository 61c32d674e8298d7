"""Threads the bot made for an answer, where the asker may go on without mentioning it.

Only with ``discord.message_content: true`` (the privileged intent; without it Discord
sends the bot no text of a message that does not mention it). A plain message from
the asker in such a thread is a follow-up until someone else writes in the thread or
``discord.thread_idle_minutes`` pass after the asker's last message there; after that, as in every
other thread, the bot answers only when mentioned. Kept in memory: after a restart a
thread needs a mention again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from index.bounded import BoundedMap

THREADS_IN_MEMORY = 10_000


@dataclass
class _Thread:
    asker_id: int
    last_seen: float
    open: bool = True


class AnswerThreads:
    """The bot's answer threads: who asked, when the thread last moved, still open or not."""

    def __init__(
        self,
        idle_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        size: int = THREADS_IN_MEMORY,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._threads: BoundedMap[int, _Thread] = BoundedMap(size)

    def started(self, thread_id: int, asker_id: int) -> None:
        """Remember a thread the bot just made for ``asker_id``'s answer."""
        self._threads.put(thread_id, _Thread(asker_id, self.clock()))

    def follows_up(self, thread_id: int, author_id: int) -> bool:
        """Return whether a plain message by ``author_id`` in the thread is a follow-up.

        Every message counts as activity: the asker's keeps the thread open; anyone
        else's closes it for plain follow-ups (the conversation is no longer theirs
        alone), and so does an idle spell of ``idle_seconds``.
        """
        thread = self._threads.get(thread_id)
        if thread is None or not thread.open:
            return False
        now = self.clock()
        if now - thread.last_seen > self.idle_seconds:
            thread.open = False
            return False
        if author_id != thread.asker_id:
            thread.open = False
            return False
        thread.last_seen = now
        return True
