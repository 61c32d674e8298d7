"""Answers, summaries and status as Discord messages that respect every Discord limit.

Pure functions: nothing here talks to Discord. An answer becomes one message with one
embed: the question as title, the quoted sentences as description, the sources as
compact fields, and a footer. The sources are always listed in full when they can be
(titles are shortened, then links dropped, before any source is left out); the answer
text gives way first and is cut at a sentence boundary. Every text that comes from a
user or a document is escaped so it can neither format, link nor mention.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import discord

from bot.i18n import t
from bot.services.summary import summary_heading, summary_rows
from bot.services.web import FetchReport
from index.answer import Answer, Source, sources_by_document
from index.build import BuildSummary
from index.types import Visibility

if TYPE_CHECKING:
    from discord.types.embed import Embed as EmbedData

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_VALUE_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000

# The answer text keeps at least this much room before sources are compressed further.
MIN_DESCRIPTION = 600
MAX_URL = 512
MAX_LOCATION = 100
ELLIPSIS = "…"
EMBED_COLOUR = 0x2B6CB0

# Markdown that Discord renders anywhere in a line; escaping each with a backslash is
# always safe because Discord drops a backslash before any punctuation. A translation
# table escapes them in one pass in C (a regex with "\\\1" expanded each in Python).
_MARKDOWN = str.maketrans({char: "\\" + char for char in "\\*_~|`[]<>"})
_INLINE_MARKDOWN = str.maketrans({char: "\\" + char for char in "\\*_~|`[]<>#"})
_LINE_START_MARKDOWN = re.compile(r"^(\s*)([#>\-+]|\d+\.)")
_MASS_MENTION = re.compile(r"@(everyone|here)")
# Anything Discord would turn into a clickable link with a preview: scheme://... Discord
# links "https://…" even glued to a word ("på1https://…", "x_https://…"), so the scheme
# starts at the first letter of the scheme characters before "://", wherever they stand.
# Each pattern here is linear in its input (tests/bot/test_formatting_linear.py): a run
# of scheme characters is only tried from its first character, and the URL's body is
# matched once its scheme is known.
_SCHEME = re.compile(r"(?i)(?<![a-z0-9+.\-])[a-z0-9+.\-]*://(?=[^\s<>])")
_SCHEME_START = re.compile(r"(?i)[a-z]")
_URL_BODY = re.compile(r"[^\s<>]+")
_URL_TRAILING = ".,;:!?)]}'\"”’»"
_SENTENCE_END = re.compile(r"[.!?…][\"”’)\]]*\s+")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FormattedAnswer:
    """The message an answer becomes: optional content and the embeds."""

    content: str | None
    embeds: list[discord.Embed]
    shortened: bool = False
    left_out: int = 0  # documents cited but not listed (no room)

    def embed_dicts(self) -> list[EmbedData]:
        """Return the embeds as the JSON Discord receives."""
        return [e.to_dict() for e in self.embeds]


def one_line(text: str) -> str:
    """Return ``text`` with every run of whitespace (newlines included) as one space."""
    return _WHITESPACE.sub(" ", text or "").strip()


def escape(text: str) -> str:
    """Return ``text`` safe to show: no markdown, links, spoilers or mentions take effect.

    ``<`` is escaped, which disarms user, role and channel mentions and timestamps;
    ``@everyone``/``@here`` get a zero-width space, as discord.py's ``escape_mentions``.
    A raw URL is shown as inline code, which Discord neither links nor previews.
    """
    parts: list[str] = []
    position = 0
    for start, end in _raw_urls(text):
        url = text[start:end].rstrip(_URL_TRAILING)
        if "://" not in url:
            continue
        parts.append(_escape_plain(text[position:start], at_start=not parts))
        parts.append(_inert_url(url))
        position = start + len(url)
    parts.append(_escape_plain(text[position:], at_start=not parts))
    return "".join(parts)


def _raw_urls(text: str) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) of each raw URL in ``text``: a scheme, "://" and a body.

    The scheme is letters, digits and "+.-" starting with a letter; a word character
    before it does not hide it (Discord links "https://…" in "x_https://…" too).
    """
    search_from = 0
    while scheme := _SCHEME.search(text, search_from):
        colon = scheme.end() - len("://")
        letter = _SCHEME_START.search(text, scheme.start(), colon)
        if letter is None:  # "123://…": no scheme here; one may follow in what comes after
            search_from = scheme.end()
            continue
        body = _URL_BODY.match(text, scheme.end())
        assert body is not None  # the scheme pattern looks ahead for it
        yield letter.start(), body.end()
        search_from = body.end()


def escape_inline(text: str) -> str:
    """Return ``text`` safe inside a line: no markdown, links, mentions or timestamps act.

    Unlike :func:`escape` it adds nothing for line-start markers ("1.", "-"), which only
    act at the start of a line and would show as a stray backslash.
    """
    return _MASS_MENTION.sub("@\u200b\\1", text.translate(_INLINE_MARKDOWN))


def _escape_plain(text: str, *, at_start: bool = True) -> str:
    """Return text without URLs escaped (line-start markdown only at the start of a text)."""
    text = text.translate(_MARKDOWN)
    if at_start:
        text = _LINE_START_MARKDOWN.sub(r"\1\\\2", text)
    return _MASS_MENTION.sub("@\u200b\\1", text)


def _inert_url(url: str) -> str:
    """Return a raw URL as inline code, or (with a backtick in it) with its scheme broken."""
    if "`" not in url:
        return "`" + _MASS_MENTION.sub("@\u200b\\1", url) + "`"
    return _escape_plain(url.replace("://", ":\u200b//", 1), at_start=False)


def _drop_dangling_backslash(text: str) -> str:
    """Return ``text`` without a trailing odd backslash (half of a cut escape)."""
    stripped = text.rstrip("\\")
    if (len(text) - len(stripped)) % 2:
        return text[:-1]
    return text


def cut(text: str, limit: int) -> tuple[str, bool]:
    """Return (text cut to ``limit`` characters, whether it was cut).

    Cuts after the last sentence that fits; when none does (or it would keep less than
    a third), after the last whole word; marks the cut with an ellipsis.
    """
    if len(text) <= limit:
        return text, False
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit], True
    room = limit - len(ELLIPSIS) - 1
    head = text[: room + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        return _drop_dangling_backslash(head[: ends[-1]].rstrip()) + " " + ELLIPSIS, True
    space = head.rfind(" ")
    if space >= limit // 3:
        return _drop_dangling_backslash(head[:space].rstrip()) + " " + ELLIPSIS, True
    return _drop_dangling_backslash(text[: limit - len(ELLIPSIS)]) + ELLIPSIS, True


def clip(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters (see ``cut``)."""
    return cut(text, limit)[0]


def escaped_within(
    text: str, limit: int, render: Callable[[str], str] | None = None
) -> tuple[str, bool]:
    """Return (``text`` escaped and cut so that the shown form fits ``limit``, whether cut).

    ``render`` turns the raw (cut) text into what is shown; by default the text is made
    one line and escaped.
    """
    if render is None:
        raw, render = one_line(text), escape
    else:
        raw = text
    budget = limit
    while True:
        piece, was_cut = cut(raw, budget)
        shown = render(piece)
        if len(shown) <= limit or budget <= 1:
            return shown[:limit], was_cut
        budget -= max(1, len(shown) - limit)


def _quote_text(text: str) -> str:
    """Return a quote's lines, each with its whitespace collapsed; empty lines dropped."""
    return "\n".join(one_line(line) for line in text.splitlines() if line.strip())


def _render_quote(raw: str) -> str:
    """Return quote lines escaped, continuing the blockquote on every line (for lists)."""
    return "\n> ".join(escape(line) for line in raw.split("\n"))


def safe_url(url: str | None) -> str | None:
    """Return an http(s) URL safe inside a markdown link, or None when it is not usable."""
    if not url:
        return None
    url = url.strip()
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    for char, code in (("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"), ("`", "%60")):
        url = url.replace(char, code)
    return url


@dataclass(frozen=True)
class _SourceStyle:
    """How compactly sources are listed: title length, links, location length."""

    title: int
    links: bool
    location: int


# From the fullest to the most compact listing; the first that fits is used.
_STYLES = (
    _SourceStyle(TITLE_LIMIT, True, MAX_LOCATION),
    _SourceStyle(120, True, 60),
    _SourceStyle(80, True, 60),
    _SourceStyle(60, True, 40),
    _SourceStyle(40, True, 40),
    _SourceStyle(60, False, 40),
    _SourceStyle(40, False, 30),
    _SourceStyle(24, True, 30),
    _SourceStyle(24, False, 20),
    _SourceStyle(16, False, 0),
)


def place_without_title(location: str | None, title: str) -> str | None:
    """Return a heading path without the leading headings that repeat the document's title."""
    if not location:
        return None
    parts = [p.strip() for p in location.split("›")]
    while parts and parts[0].casefold() == title.strip().casefold():
        parts.pop(0)
    return " › ".join(p for p in parts if p) or None


def source_line(
    number: int,
    source: Source,
    style: _SourceStyle = _STYLES[0],
    locations: Sequence[str | None] | None = None,
) -> str:
    """Return one document as a compact markdown line: number, linked title, places, date."""
    raw_title = source.title or source.id
    title, _ = escaped_within(raw_title, style.title)
    url = safe_url(source.url) if style.links else None
    named = f"[{title}]({url})" if url else title
    line = f"**[{number}]** {named}"
    places = [
        p
        for p in (place_without_title(x, raw_title) for x in (locations or [source.location]))
        if p
    ]
    if places and style.location:
        location, _ = escaped_within(", ".join(places), style.location)
        line += f" · {location}"
    if source.date:
        line += " · " + escaped_within(source.date, 20)[0]
    if len(line) > FIELD_VALUE_LIMIT:  # only a pathological URL gets here
        plain = _SourceStyle(style.title, False, style.location)
        return source_line(number, source, plain, locations)
    return line


def _pack_fields(lines: Sequence[str], name: str, more_name: str) -> list[tuple[str, str]]:
    """Return (name, value) fields holding ``lines`` whole, each value within its limit."""
    fields: list[tuple[str, str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        extra = len(line) + (1 if current else 0)
        if current and size + extra > FIELD_VALUE_LIMIT:
            fields.append((name if not fields else more_name, "\n".join(current)))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current:
        fields.append((name if not fields else more_name, "\n".join(current)))
    return fields


def _fields_size(fields: Sequence[tuple[str, str]]) -> int:
    return sum(len(n) + len(v) for n, v in fields)


def source_fields(
    sources: Sequence[Source], language: str, budget: int
) -> tuple[list[tuple[str, str]], int]:
    """Return (fields listing the cited documents within ``budget`` characters, left out).

    One line per document, however often it is cited. Tries ever more compact styles;
    only when even the most compact listing does not fit are the last documents replaced
    by one line saying how many more there are.
    """
    if not sources:
        return [], 0
    documents = sources_by_document(list(sources))
    name, more_name = t("answer.sources", language), t("answer.sources_more", language)
    for style in _STYLES:
        lines = [source_line(i, s, style, p) for i, (s, p) in enumerate(documents, 1)]
        fields = _pack_fields(lines, name, more_name)
        if _fields_size(fields) <= budget and len(fields) <= FIELDS_LIMIT:
            return fields, 0
    style = _STYLES[-1]
    lines = [source_line(i, s, style, p) for i, (s, p) in enumerate(documents, 1)]
    for keep in range(len(lines) - 1, 0, -1):
        more = t("answer.more_sources", language, n=len(lines) - keep)
        fields = _pack_fields([*lines[:keep], more], name, more_name)
        if _fields_size(fields) <= budget and len(fields) <= FIELDS_LIMIT:
            return fields, len(lines) - keep
    more = t("answer.more_sources", language, n=len(lines))
    return [(name, more)], len(lines)


def document_numbers(sources: Sequence[Source]) -> list[int]:
    """Return for each source the number of its document in the listing (1-based)."""
    numbers: dict[str, int] = {}
    return [numbers.setdefault(s.id, len(numbers) + 1) for s in sources]


def format_contact(contact: str, language: str) -> str:
    """Return the line that says whom to contact: a whole http(s) URL as a link, else text.

    Text is escaped like everything else (no mention, markdown or link acts; a URL in it
    is inert); a URL alone becomes a masked link showing its host and path.
    """
    url = safe_url(contact)
    if url is not None:
        parts = urlsplit(contact.strip())
        shown = escape_inline(clip((parts.netloc + parts.path).rstrip("/"), 100))
        return t("answer.contact", language, contact=f"[{shown}]({url})")
    text, _ = escaped_within(contact, 300)
    return t("answer.contact", language, contact=text)


def _decline_lines(
    answer: Answer, budget: int, near_limit: int, contact: str | None = None
) -> tuple[str, bool]:
    """Return the decline, the titles of the closest documents and the contact line."""
    ending = ["", format_contact(contact, answer.language)] if contact else []
    budget -= len("\n".join(ending)) + (1 if ending else 0)
    text, was_cut = escaped_within(t("answer.abstain", answer.language), budget)
    near = answer.near[:near_limit]
    lines = [text, "", t("answer.near", answer.language)]
    for source in near:
        lines.append("• " + escaped_within(source.title or source.id, 120)[0])
        if len("\n".join(lines)) > budget:
            lines.pop()
            break
    if len(lines) <= 3:
        lines = [text]
    return "\n".join(lines + ending), was_cut


def _quote_lines(
    answer: Answer, budget: int, near_limit: int = 3, contact: str | None = None
) -> tuple[str, bool]:
    """Return the quotes as a blockquote within ``budget`` characters, and whether cut."""
    if not answer.answered or not answer.quotes:
        return _decline_lines(answer, budget, near_limit, contact)
    numbers = document_numbers(answer.sources)
    lines: list[str] = []
    used = 0
    if answer.lead:  # "Ja." or "Källan säger:" before the quote of a yes/no question
        lines.append(escaped_within(answer.lead, 60)[0])
        used = len(lines[0])
    for quote in answer.quotes:
        number = numbers[quote.source] if quote.source < len(numbers) else quote.source + 1
        marker = f" **[{number}]**"
        prefix = "> ”"
        suffix = "”" + marker
        separator = 1 if lines else 0
        room = budget - used - separator - len(prefix) - len(suffix)
        text = _quote_text(quote.text)
        shown = _render_quote(text)
        if len(shown) <= room:
            lines.append(prefix + shown + suffix)
            used += separator + len(lines[-1])
            continue
        # The first quote that does not fit is cut at a sentence if enough of it fits.
        if room >= 40 or not lines:
            shown, _ = escaped_within(text, max(room, 1), _render_quote)
            lines.append(prefix + shown + suffix)
        return "\n".join(lines)[:budget], True
    return "\n".join(lines), False


def format_answer(
    answer: Answer, *, help_hint: bool = False, near_limit: int = 3, contact: str | None = None
) -> FormattedAnswer:
    """Return the message for an answer: one embed with quotes, sources and a footer.

    A decline lists the titles of up to ``near_limit`` documents that came closest (those
    in ``answer.near``, which the asker may see), and ends with ``contact`` when given
    (``discord.public_contact``). ``help_hint`` adds the pointer to /hjälp.
    """
    language = answer.language
    if answer.kind == "small_talk":  # a short reply to a greeting: no title, no footer
        text, _ = escaped_within(answer.text, DESCRIPTION_LIMIT)
        embed = discord.Embed(description=text, colour=EMBED_COLOUR)
        return FormattedAnswer(content=None, embeds=[embed], shortened=False, left_out=0)
    title, _ = escaped_within(answer.question, TITLE_LIMIT)
    hint = (" " + t("answer.help_hint", language)) if help_hint else ""
    if answer.answered:
        footer_full = t("answer.footer", language) + hint
        footer_cut = t("answer.footer_cut", language) + hint
    else:
        footer_full = footer_cut = t("answer.footer_declined", language) + hint
    reserved = len(title) + max(len(footer_full), len(footer_cut))
    full_description, _ = _quote_lines(answer, DESCRIPTION_LIMIT, near_limit, contact)
    description_floor = min(len(full_description), MIN_DESCRIPTION)
    fields, left_out = source_fields(
        answer.sources if answer.answered else [],
        language,
        EMBED_TOTAL_LIMIT - reserved - description_floor,
    )
    room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - reserved - _fields_size(fields))
    description, shortened = _quote_lines(answer, room, near_limit, contact)
    embed = discord.Embed(title=title, description=description, colour=EMBED_COLOUR)
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=footer_cut if shortened or left_out else footer_full)
    return FormattedAnswer(
        content=None,
        embeds=[embed],
        shortened=shortened or bool(left_out),
        left_out=left_out,
    )


def format_more_sources(
    answer: Answer, left_out: int, language: str, visibility: Visibility
) -> discord.Embed | None:
    """Return the private "more sources" list: documents not listed, then nearby ones.

    Only documents the asker may see are shown: with ``visibility`` "public", anything
    not public is dropped here too, whatever the engine returned.
    """
    grouped = sources_by_document(list(answer.sources)) if answer.answered else []
    rest = grouped[len(grouped) - left_out :] if left_out else []
    cited = {s.id for s, _ in grouped}
    extra = [(s, [s.location] if s.location else []) for s in answer.near if s.id not in cited]
    shown = [
        (s, p) for s, p in [*rest, *extra] if visibility == "internal" or s.visibility == "public"
    ]
    if not shown:
        return None
    first = len(grouped) - len(rest) + 1
    name, more_name = t("answer.more_title", language), t("answer.sources_more", language)
    for style in _STYLES[1:]:  # the fullest listing that fits one embed
        lines = [source_line(first + i, s, style, p) for i, (s, p) in enumerate(shown)]
        fields = _pack_fields(lines, name, more_name)
        if _fields_size(fields) <= EMBED_TOTAL_LIMIT - 100 and len(fields) <= FIELDS_LIMIT:
            break
    while len(fields) > 1 and (
        _fields_size(fields) > EMBED_TOTAL_LIMIT - 100 or len(fields) > FIELDS_LIMIT
    ):
        fields.pop()
    embed = discord.Embed(colour=EMBED_COLOUR)
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    return embed


def embed_size(embed: discord.Embed | dict[str, Any]) -> int:
    """Return the characters Discord counts towards an embed's 6000-character total."""
    data = embed.to_dict() if isinstance(embed, discord.Embed) else embed
    size = len(data.get("title") or "") + len(data.get("description") or "")
    size += len((data.get("footer") or {}).get("text") or "")
    size += len((data.get("author") or {}).get("name") or "")
    for field in data.get("fields") or []:
        size += len(field.get("name") or "") + len(field.get("value") or "")
    return size


def format_notice(text: str) -> str:
    """Return a plain notice (an error or a refusal) within the content limit."""
    return clip(text, CONTENT_LIMIT)


_STAGES = frozenset(
    f"reindex.stage.{s}" for s in ("scan", "read", "embed", "write", "swap", "done")
)


def format_progress(stage: str, done: int, total: int, elapsed: float, language: str) -> str:
    """Return the reindex progress line: stage, done / total and elapsed seconds."""
    key = f"reindex.stage.{stage}"
    label = t(key, language) if key in _STAGES else stage
    return t(
        "reindex.progress",
        language,
        elapsed=int(elapsed),
        stage=label,
        done=done,
        total=total,
    )


_STAGES = frozenset(
    f"reindex.stage.{s}" for s in ("scan", "read", "embed", "write", "swap", "done")
)


def format_build_summary(summary: BuildSummary, language: str) -> str:
    """Return the reindex summary as the CLI prints it, in a code block within 2000 chars."""
    rows = summary_rows(summary, language)
    width = max(len(k) for k, _ in rows)
    head = summary_heading(summary, language)
    lines = [head] + [f"  {k:<{width}}  {v}" for k, v in rows]
    skipped = [
        f"  {t('summary.skipped_file', language)} {one_line(s.path)}: {one_line(s.reason)}"
        for s in summary.skipped
    ]
    fence = "```"
    body = "\n".join(lines).replace(fence, "ʼʼʼ")
    budget = CONTENT_LIMIT - 2 * len(fence) - 2 - len(body)
    shown: list[str] = []
    for i, line in enumerate(skipped):
        line = clip(line.replace(fence, "ʼʼʼ"), 300)
        rest = len(skipped) - i - 1
        tail = len(t("summary.more_skipped", language, count=rest)) + 1 if rest else 0
        if sum(len(s) + 1 for s in shown) + len(line) + 1 + tail > budget:
            shown.append(t("summary.more_skipped", language, count=len(skipped) - i))
            break
        shown.append(line)
    text = "\n".join([body, *shown])
    return f"{fence}\n{text}\n{fence}"


def format_status(info: dict[str, Any], asked: int, answered: int, language: str) -> discord.Embed:
    """Return ``/kb status`` as an embed: model, documents, chunks, time, size, questions."""
    embed = discord.Embed(title=t("status.title", language), colour=EMBED_COLOUR)
    model = f"{info.get('model_id')} ({info.get('dimension')} dim)"
    embed.add_field(name=t("status.model", language), value=clip(escape(model), 1024))
    embed.add_field(
        name=t("status.documents", language),
        value=t(
            "status.documents_value",
            language,
            total=info.get("documents", 0),
            public=info.get("public_documents", 0),
            internal=info.get("internal_documents", 0),
        ),
    )
    embed.add_field(name=t("status.chunks", language), value=str(info.get("chunks", 0)))
    built = info.get("built_at")
    when = "–"
    if built:
        try:
            when = discord.utils.format_dt(datetime.fromisoformat(str(built)), "f")
        except ValueError:
            when = clip(escape(str(built)), 100)
    embed.add_field(name=t("status.built_at", language), value=when)
    size_mb = float(info.get("disk_bytes", 0)) / 1e6
    embed.add_field(name=t("status.size", language), value=f"{size_mb:.2f} MB")
    embed.add_field(
        name=t("status.questions", language),
        value=t("status.questions_value", language, asked=asked, answered=answered),
    )
    return embed


def format_fetch_report(report: FetchReport, language: str) -> str:
    """Return what a fetch of the web sources did: counts, then each failed page and why."""
    if not report.results:
        return t("kb.fetch.none", language)
    lines = [
        t(
            "kb.fetch.summary",
            language,
            added=report.count("added"),
            updated=report.count("updated"),
            unchanged=report.count("unchanged"),
            removed=report.count("removed"),
            failed=report.count("failed"),
        )
    ]
    if report.failed:
        lines.append(t("kb.fetch.failed", language))
        lines += [
            f"• <{clip(r.url, 300)}>: {escape_inline(clip(one_line(r.reason or ''), 200))}"
            for r in report.failed
        ]
    return "\n".join(lines)
