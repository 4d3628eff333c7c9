"""Text normalisation applied before classification.

Users dodge word filters with zero-width characters, look-alike letters from other
scripts, fullwidth forms, zalgo combining marks, leetspeak and stretched letters, and
write emoji in place of words ("I'll 🔪 you"). ``normalise`` folds these back to plain
lower-case ASCII-ish text so that the model sees "kill" whatever the spelling, and
"knife" where the post shows a knife.  It runs on every post, so the common case (plain
ASCII) takes a fast path and everything is table/regex driven.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import emoji

__all__ = ["emoji_to_words", "normalise"]

# Invisible characters: zero-width space/joiners, LRM/RLM, word joiner, BOM, soft
# hyphen, bidi embeddings/isolates, Mongolian vowel separator, invisible operators.
_INVISIBLE = [
    0x00AD, 0x034F, 0x180E, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF,
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
# Combining marks (zalgo).  Removing them after NFKC also strips accents that did
# not compose (rare in English text), which is acceptable for classification.
_COMBINING_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)

# Look-alikes that NFKC does not fold (Cyrillic and Greek letters that render like
# Latin ones).  Mapped unconditionally: the classifier is English-only, so
# damaging genuine Russian/Greek text costs little, while mixed-script evasion
# ("kill" spelt with a Cyrillic i, U+0456) is common.
# Parallel strings: _HOMOGLYPH_SRC[i] -> _HOMOGLYPH_DST[i] (escaped so the source stays ASCII).
# Cyrillic lower/upper, Greek, small caps/IPA, typographic quotes and dashes.
_HOMOGLYPH_SRC = (
    "\u0430\u0431\u0432\u0433\u0435\u0451\u0437\u0438\u0439\u043a\u043b\u043c"
    "\u043d\u043e\u043f\u0440\u0441\u0442\u0443\u0445\u0448\u0449\u044a\u044c"
    "\u0455\u0456\u0457\u0458\u0501\u051b\u051d\u04bb\u04cf\u0410\u0412\u0415"
    "\u0401\u0417\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0405"
    "\u0406\u0407\u0408\u0500\u051a\u051c\u04ba\u04c0\u042c\u03b1\u03b2\u03b3"
    "\u03b4\u03b5\u03b6\u03b7\u03b9\u03ba\u03bc\u03bd\u03bf\u03c1\u03c3\u03c2"
    "\u03c4\u03c5\u03c7\u03c9\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c"
    "\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u0131\u0251\u0261\u0269\u026a\u0280"
    "\u028f\u1d00\u0299\u1d04\u1d05\u1d07\u0262\u029c\u1d0a\u1d0b\u029f\u1d0d"
    "\u0274\u1d0f\u1d18\ua731\u1d1b\u1d1c\u1d20\u1d21\u1d22\u00f8\u2018\u2019"
    "\u201c\u201d\u2013\u2014"
)
_HOMOGLYPH_DST = (
    "abbree3uuknm"
    "honpctyxwwbb"
    "siijdqwhlabe"
    "e3kmhopctyxs"
    "iijdqwhlbaby"
    "deznikuvopos"
    "tuxwabezhikm"
    "noptyxiagiir"
    "yabcdeghjklm"
    "nopstuvwzo''"
    "\"\"--"
)
_HOMOGLYPH_MULTI = {"\u00df": "ss", "\u0153": "oe", "\u00e6": "ae", "\u2026": "..."}

_TABLE: dict[int, int | str | None] = {cp: None for cp in _INVISIBLE}
for _lo, _hi in _COMBINING_RANGES:
    for _cp in range(_lo, _hi + 1):
        _TABLE[_cp] = None
for _src, _dst in zip(_HOMOGLYPH_SRC, _HOMOGLYPH_DST, strict=True):
    _TABLE[ord(_src)] = _dst
for _src, _dst in _HOMOGLYPH_MULTI.items():
    _TABLE[ord(_src)] = _dst

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
         "!": "i", "|": "l", "+": "t", "\u20ac": "e", "8": "b"}
_LEET_CHARS = "013457@$!|+\u20ac8"
_LEET_TABLE = str.maketrans(_LEET)

_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
# Leet characters sitting between letters ("k1ll", "h@te"), or a trailing "$$"/"@"
# after letters ("a$$").  Requiring letters on both sides keeps "covid19", "mp3",
# "hello!", "$100" and "@user" intact, and lets one C-level regex scan do the work.
_LEET_GROUP_RE = re.compile(
    r"(?<=[a-z])[013457@$!|+\u20ac8]+(?=[a-z])|(?<=[a-z])[@$]+(?![a-z0-9@$!|+\u20ac8])"
)
_REPEAT_RE = re.compile(r"(.)\1{2,}", re.DOTALL)
# "k i l l", "k.i.l.l", "k-i-l-l": four or more single letters with one separator.
_SPACED_RE = re.compile(r"(?<![a-z0-9])(?:[a-z][ .\-*_]){3,}[a-z](?![a-z0-9])")
_SPACED_SEP_RE = re.compile(r"[ .\-*_]")
_WS_RE = re.compile(r"\s+")

# Where emoji live (symbols, pictographs, dingbats, flags' regional indicators, keycaps):
# most non-ASCII posts are accented words or mojibake, and this one C-level scan spares
# them the emoji package's tokenizer (about 140 µs a post).
_MAYBE_EMOJI_RE = re.compile("[\u00a9\u00ae\u203c-\u3299\U0001F000-\U0001FAFF\ufe0f]")
_SKIN_TONE_RE = re.compile(r"_(?:light|medium-light|medium|medium-dark|dark)_skin_tone")
# Names that would blur what the post shows: Unicode renamed U+1F52B "pistol" to "water
# pistol" when vendors drew it as a toy, but posts use it as a gun.
_EMOJI_WORD_OVERRIDES = {"water_pistol": "pistol", "kitchen_knife": "knife"}


@lru_cache(maxsize=4096)
def _emoji_words(name: str) -> str:
    name = _SKIN_TONE_RE.sub("", name.strip(":"))
    name = _EMOJI_WORD_OVERRIDES.get(name, name)
    return f" {name.replace('_', ' ')} "


def _emoji_to_words(_chars: str, data: dict) -> str:
    return _emoji_words(data["en"])


def emoji_to_words(text: str) -> str:
    """Every emoji replaced by its CLDR name as words: 🔪 → " knife ", 🔫 → " pistol ",
    👍🏽 → " thumbs up " (skin tones dropped: they do not change what a post says)."""
    if not _MAYBE_EMOJI_RE.search(text):
        return text
    return emoji.replace_emoji(text, replace=_emoji_to_words)


def _leet_group(match: re.Match[str]) -> str:
    return match.group(0).translate(_LEET_TABLE)


def _deleet(segment: str) -> str:
    return _LEET_GROUP_RE.sub(_leet_group, segment)


def _join_spaced(match: re.Match[str]) -> str:
    return _SPACED_SEP_RE.sub("", match.group(0))


def normalise(text: str) -> str:
    """Fold obfuscated text into a canonical lower-case form for classification.

    Steps: HTML entities unescaped, emoji written as their names (``🔪`` → ``knife``),
    NFKC (fullwidth, ligatures, math letters), invisible characters and combining marks
    removed, homoglyphs mapped, lower-cased,
    leetspeak inside words decoded (``k1ll`` → ``kill``, ``h@te`` → ``hate``), runs of
    3+ identical characters collapsed to 2, spaced-out letters joined
    (``k i l l`` → ``kill``) and whitespace collapsed.  URLs and @mentions are kept
    recognisable (URLs are not de-leeted; a leading ``@`` is never a letter).
    """
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        # Emoji first: their zero-width joiners and variation selectors are removed below.
        text = emoji_to_words(text)
        text = unicodedata.normalize("NFKC", text).translate(_TABLE)
        # NFKC can leave composed letters with accents (é); strip them so
        # "kíll" == "kill".  NFD + dropping combining marks does that.
        if not text.isascii():
            text = unicodedata.normalize("NFD", text).translate(_TABLE)
    text = text.lower()
    if any(c in text for c in _LEET_CHARS):
        if "http" in text or "www." in text:
            parts: list[str] = []
            pos = 0
            for m in _URL_RE.finditer(text):
                parts.append(_deleet(text[pos:m.start()]))
                parts.append(m.group(0))
                pos = m.end()
            parts.append(_deleet(text[pos:]))
            text = "".join(parts)
        else:
            text = _deleet(text)
    text = _REPEAT_RE.sub(r"\1\1", text)
    text = _SPACED_RE.sub(_join_spaced, text)
    return _WS_RE.sub(" ", text).strip()
