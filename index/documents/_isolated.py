"""Reading untrusted files in a child process, within a time budget per document.

The parser child is a fresh interpreter with a minimal environment (no secret of the
bot's); it gets each file's bytes and the limits on stdin and answers in JSON. A parse
made to check an upload is handed back to the caller (:class:`ParsedFile`), who keeps it
in a :class:`ParsedUploads` for the reindex that follows, so the file is parsed once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.bounded import BoundedMap
from index.documents._reading import document_from, file_to_read, parse
from index.documents._text import tidy_text
from index.documents.types import Document, DocumentError, Parsed, ParseLimits, Section
from index.types import Visibility

# What the parser child may see of the environment: enough to find Python and its
# packages, speak the locale and size its thread pools; nothing else (no token, no salt).
_CHILD_ENVIRONMENT = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",  # Windows cannot start Python without it
        "PYTHONHOME",
        "PYTHONPATH",
        "PYTHONNOUSERSITE",
        "PYTHONUSERBASE",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPYCACHEPREFIX",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "BLIS_NUM_THREADS",
    }
)


def _child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the parser child's environment: the allowed part of ``environ``, nothing else.

    The child reads hostile bytes, so it gets no secret of the bot's (``DISCORD_TOKEN``,
    the user-hash salt, a config override): only ``_CHILD_ENVIRONMENT`` and the locale
    (``LC_*``), with this package's root first on ``PYTHONPATH``.
    """
    env = {
        key: value
        for key, value in environ.items()
        if key in _CHILD_ENVIRONMENT or key.startswith("LC_")
    }
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class ParsedFile:
    """A file's parse, by what was parsed: the file's suffix and its bytes' sha256."""

    suffix: str
    sha256: str
    parsed: Parsed


class ParsedUploads:
    """The parses of checked uploads, kept for the next reindex; the newest ``size`` only.

    Owned by the engine (``Engine.uploads``): the upload check adds its parse
    (:meth:`IsolatedReader.check`), and the reindex's :class:`IsolatedReader` takes a
    file with the same suffix and bytes from here instead of parsing it again. Safe to
    share between threads.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._parsed: BoundedMap[tuple[str, str], Parsed] = BoundedMap(size)

    def add(self, parsed: ParsedFile) -> None:
        """Keep ``parsed``, forgetting the oldest past :attr:`size`."""
        self._parsed.put((parsed.suffix, parsed.sha256), parsed.parsed)

    def get(self, suffix: str, sha256: str) -> Parsed | None:
        """Return the parse kept for a file of ``suffix`` whose bytes hash to ``sha256``."""
        return self._parsed.get((suffix, sha256))

    def __len__(self) -> int:
        """Return how many parses are kept."""
        return len(self._parsed)


def read_document_isolated(
    path: Path,
    root: Path,
    default_visibility: Visibility = "internal",
    *,
    limits: ParseLimits | None = None,
) -> Document:
    """Return :func:`index.documents.read_document`'s document, read in a child process.

    See :class:`IsolatedReader`; ``limits`` None: the defaults.
    """
    with IsolatedReader(limits) as reader:
        return reader.read(path, root, default_visibility)


_CHILD_START_SECONDS = 120.0
_CHILD_CODE = "from index.documents._isolated import _child_main; _child_main()"
# The libraries a reader needs, imported in the child before its time budget starts.
_READER_LIBRARIES = {".docx": "docx", ".pdf": "pypdf"}
_FRAME = 4  # bytes of the big-endian length before each message between the processes


class IsolatedReader:
    """Reads documents in a child process, each within the time budget; a context manager.

    Untrusted text never reaches this process's parsers or its sentence splitter: a regex
    holds the interpreter lock for its whole match, so a hostile document read here would
    stop every other thread (the bot's event loop with them). The child is a fresh
    interpreter (``python -c``), not a fork of this threaded process, and does not import
    the caller's main module; it is started at the first document that needs it and then
    reads one document after another. It gets the bytes and the limits on stdin and
    answers in JSON (never pickle: it has read hostile bytes): the sections and each
    section's sentence units (:func:`index.chunking.split_sentences`), which
    :func:`index.chunking.chunk_document` then uses.

    A document that takes longer than ``limits.parse_seconds`` (counted once the child
    has its bytes and its reader's libraries: start-up is not counted) is refused with
    that reason and the child killed; one that kills the child (out of memory, say) is
    refused too. The next document gets a new child.
    """

    def __init__(
        self, limits: ParseLimits | None = None, *, uploads: ParsedUploads | None = None
    ) -> None:
        self.limits = limits or ParseLimits()
        self.uploads = uploads
        self._child: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(self, path: Path, root: Path, default_visibility: Visibility = "internal") -> Document:
        """Return the document at ``path`` (as :func:`index.documents.read_document`).

        It is parsed in the child, unless :attr:`uploads` holds the parse of a checked
        upload with the same suffix and bytes: that is used as it is. Raises DocumentError.
        """
        return self.check(path, root, default_visibility)[0]

    def check(
        self, path: Path, root: Path, default_visibility: Visibility = "internal"
    ) -> tuple[Document, ParsedFile]:
        """Return the document at ``path`` and its parse, which a reindex can take over.

        As :meth:`read`; the parse goes to a :class:`ParsedUploads` (the engine's), so
        the reindex that indexes the same bytes next does not parse them again.
        """
        path, doc_id, suffix, data = file_to_read(path, root, default_visibility)
        digest = hashlib.sha256(data).hexdigest()
        parsed = self.uploads.get(suffix, digest) if self.uploads is not None else None
        if parsed is None:
            parsed = self._parse(data, suffix)
        document = document_from(path, doc_id, digest, parsed, default_visibility)
        return document, ParsedFile(suffix, digest, parsed)

    def close(self) -> None:
        """Stop the child, if one is running (it ends when its input does)."""
        child, self._child = self._child, None
        if child is None:
            return
        with contextlib.suppress(OSError):
            assert child.stdin is not None
            child.stdin.close()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
        if child.stdout is not None:
            child.stdout.close()

    def _kill(self) -> None:
        """Kill the child at once (it overran its budget or stopped answering)."""
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
        self.close()

    def _parse(self, data: bytes, suffix: str) -> Parsed:
        """Return the child's parse of ``data``, killing it past the time budget."""
        header = json.dumps(
            {"suffix": suffix, "size": len(data), "limits": dataclasses.asdict(self.limits)}
        ).encode()
        child = self._started()
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(len(header).to_bytes(_FRAME, "big") + header)
            child.stdin.write(data)
            child.stdin.flush()
        except BrokenPipeError:
            pass  # it stopped; reading says so
        # "G": it has the bytes and the reader's libraries; the budget starts now.
        if _read_until(child.stdout, 1, time.monotonic() + _CHILD_START_SECONDS) != b"G":
            self._kill()
            raise DocumentError("the document reader stopped (out of memory?)")
        deadline = time.monotonic() + self.limits.parse_seconds
        size = _read_until(child.stdout, _FRAME, deadline)
        answer = None if size is None else _read_until(child.stdout, _length(size), deadline)
        if answer is None:
            overran = time.monotonic() >= deadline
            self._kill()
            if overran:
                raise DocumentError(
                    f"reading it takes longer than {self.limits.parse_seconds:g} s"
                    " (documents.parse_seconds)"
                )
            raise DocumentError("the document reader stopped (out of memory?)")
        return _parsed_from(answer)

    def _started(self) -> subprocess.Popen[bytes]:
        """Return the running child, starting one if needed."""
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.close()
        env = _child_environment(os.environ)
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._child = child
        return child


def _length(frame: bytes) -> int:
    return int.from_bytes(frame, "big")


def _parsed_from(answer: bytes) -> Parsed:
    """Return the parse in the child's JSON answer; raise its DocumentError."""
    try:
        outcome = json.loads(answer)
    except ValueError:
        raise DocumentError("the document reader stopped (out of memory?)") from None
    if outcome.get("error") is not None:
        raise DocumentError(outcome["error"])
    return Parsed(
        [
            Section(s["text"], s["heading"], s["page"], tuple(s["sentences"]))
            for s in outcome["sections"]
        ],
        title=outcome["title"],
        meta={k: tuple(v) if isinstance(v, list) else v for k, v in outcome["meta"].items()},
    )


def _read_until(stream: Any, size: int, deadline: float) -> bytes | None:
    """Return ``size`` bytes read by ``deadline`` (time.monotonic), else None (late or EOF)."""
    chunks: list[bytes] = []
    got = 0
    fd = stream.fileno()
    while got < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _child_main() -> None:
    """Run in the child process: read (header, bytes) requests on stdin, answer each in JSON.

    Each answer holds the tidy sections with their sentence units, or the one-line error.
    """
    from index.chunking import split_sentences  # here: index.chunking imports this module

    stdin, out = sys.stdin.buffer, sys.stdout.buffer
    while len(frame := stdin.read(_FRAME)) == _FRAME:
        header = json.loads(stdin.read(_length(frame)))
        data = stdin.read(header["size"])
        if library := _READER_LIBRARIES.get(header["suffix"]):
            with contextlib.suppress(ImportError):  # the reader says what is missing
                importlib.import_module(library)
        out.write(b"G")  # go: the budget starts
        out.flush()
        try:
            parsed = parse(data, header["suffix"], ParseLimits(**header["limits"]))
            sections: list[dict[str, Any]] = [
                {"text": text, "heading": s.heading, "page": s.page}
                for s in parsed.sections
                if (text := tidy_text(s.text))
            ]
            for section in sections:
                section["sentences"] = split_sentences(section["text"])
            answer: dict[str, Any] = {
                "sections": sections,
                "title": parsed.title,
                "meta": parsed.meta,
            }
        except DocumentError as exc:
            answer = {"error": str(exc)}
        except Exception as exc:  # a bug must refuse this document, not end the child
            answer = {"error": f"unexpected error: {type(exc).__name__}: {exc}"}
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        out.write(len(payload).to_bytes(_FRAME, "big") + payload)
        out.flush()
