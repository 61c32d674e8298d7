"""Small talk is not a question: a message that is only a greeting, thanks or "vad kan du?".

Such a message gets a short reply with an example question (the bot's catalogues write it),
never a decline. A greeting followed by a question ("Hej! Vad kostar bygglov?") is a
question: every word must belong to a small-talk phrase for the message to be small talk.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.lexical import words
from index.types import Language

# Each phrase as its words, with its kind and language. Longer phrases are tried first.
_PHRASES: dict[tuple[str, ...], tuple[str, Language]] = {}


def _add(kind: str, language: Language, phrases: str) -> None:
    for phrase in phrases.split("|"):
        _PHRASES[tuple(phrase.split())] = (kind, language)


_add(
    "greeting",
    "sv",
    "hej|hejsan|hallå|tja|tjena|tjenare|god morgon|god dag|god kväll|goddag|morsning|"
    "hej hej|hejhej|hälsningar",
)
_add("greeting", "en", "hi|hello|hey|hiya|good morning|good afternoon|good evening|greetings")
_add(
    "thanks",
    "sv",
    "tack|tackar|tack tack|tack så mycket|tusen tack|stort tack|tack ska du ha|"
    "tack för hjälpen|tack för svaret|vad bra|toppen|perfekt|okej|ok|jaha|aha|bra",
)
_add(
    "thanks",
    "en",
    "thanks|thank you|thank you very much|thanks a lot|many thanks|thx|cheers|great|"
    "perfect|thanks for the help|thank you for the help|nice|cool",
)
_add(
    "help",
    "sv",
    "vad kan du|vad kan du göra|vad kan du hjälpa till med|vad kan du hjälpa mig med|"
    "vad gör du|vem är du|vad är du|hur fungerar du|hur funkar du|hjälp|vad kan jag fråga|"
    "vad kan jag fråga om|vad kan jag fråga dig om",
)
_add(
    "help",
    "en",
    "what can you do|what can you help with|what can you help me with|what do you do|"
    "who are you|what are you|how do you work|help|what can i ask|what can i ask you|"
    "what can i ask about",
)
_add("bye", "sv", "hej då|hejdå|ha det bra|vi hörs|adjö")
_add("bye", "en", "bye|goodbye|bye bye|see you|see you later")
# Names a greeting may carry ("Hej boten!").
_FILLER = frozenset("boten botten nätverksboten bot du dig there you all alla".split())
_LONGEST = max(len(p) for p in _PHRASES)
# Which kind answers when a message holds several ("Hej! Vad kan du?" asks what it can).
_PRIORITY = ("help", "thanks", "bye", "greeting")


@dataclass(frozen=True)
class SmallTalk:
    """What kind of small talk a message is, and its language."""

    kind: str  # "greeting", "thanks", "help" or "bye"
    language: Language


def small_talk(text: str) -> SmallTalk | None:
    """Return the small talk a message is, or None when it holds anything else."""
    tokens = words(text[:300])
    if not tokens or len(tokens) > 20:
        return None
    found: list[tuple[str, Language]] = []
    i = 0
    while i < len(tokens):
        for size in range(min(_LONGEST, len(tokens) - i), 0, -1):
            match = _PHRASES.get(tuple(tokens[i : i + size]))
            if match:
                found.append(match)
                i += size
                break
        else:
            if tokens[i] not in _FILLER:
                return None
            i += 1
    if not found:
        return None
    kind = next(k for k in _PRIORITY if any(f[0] == k for f in found))
    languages = [lang for _, lang in found]
    language: Language = "en" if languages.count("en") > languages.count("sv") else "sv"
    return SmallTalk(kind, language)
