"""Bounded YAML for files others can write: no anchors or aliases, no deep nesting."""

from __future__ import annotations

from typing import Any

import yaml

MAX_YAML_DEPTH = 50
"""Deepest nesting of lists and mappings accepted in front matter and visibility lists."""
_NO_ALIASES = "anchors and aliases (&name, *name) are not allowed"


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors, aliases and nesting past :data:`MAX_YAML_DEPTH`.

    PyYAML composes nested nodes recursively: 5,000 ``[`` would end in a RecursionError
    (which aborted a whole reindex); here they are invalid YAML like any other. An alias
    repeats what its anchor names, so a few hundred bytes of nested aliases stand for
    billions of values, which anything walking them (``str()``, a dump) then expands;
    nothing the bot reads needs them, so the first anchor or alias is refused.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, _NO_ALIASES, event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """Return ``yaml.safe_load(text)``; anchors, aliases and deep nesting are a YAMLError.

    So is a value YAML recognises but Python cannot hold (a 5,000-digit number, the
    date 2024-13-45). Use it for every YAML file in a folder others can write.
    """
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader
    except RecursionError:  # a backstop; the depth limit is reached long before
        raise yaml.YAMLError("nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # from a constructor: int(), date()
        raise yaml.YAMLError(f"a value cannot be read: {exc}") from None


def yaml_reason(exc: yaml.YAMLError, first_line: int = 1) -> str:
    """Return a YAML error as one line: the problem and its line (the first is ``first_line``)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" (line {mark.line + first_line})" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


def type_name(value: object) -> str:
    """Return a plain-words name for the YAML type of ``value``."""
    names = {
        list: "list",
        dict: "mapping",
        str: "text",
        bool: "true/false",
        int: "number",
        float: "number",
        type(None): "empty value",
    }
    return names.get(type(value), type(value).__name__)


def clip(text: str, limit: int = 80) -> str:
    """Return ``text`` on one line, at most ``limit`` characters (cut with an ellipsis)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
