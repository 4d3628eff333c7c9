"""Post text: validation, and rendering to safe HTML with mentions, hashtags and links.

Rendering escapes every piece of the text and builds the few tags it adds itself;
nh3 then cleans the result again, so a bug here cannot become stored XSS.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

MENTION_RE = r"(?<![\w@/])@(?P<mention>[A-Za-z0-9_]{1,30})(?![\w@])"
HASHTAG_RE = r"(?<![\w#&/])#(?P<hashtag>[^\W\d_][\w]{0,99})"
URL_RE = r"(?P<url>\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}])"
TOKEN_RE = re.compile(f"{URL_RE}|{MENTION_RE}|{HASHTAG_RE}", re.UNICODE)

ALLOWED_TAGS = {"a", "br", "p", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "class", "title"}, "span": {"class"}}

# Newlines and tabs are text; every other control or format character is rejected, since
# they are how direction overrides and invisible payloads get into posts.
_ALLOWED_CONTROL = {"\n", "\t"}
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass
class ParsedText:
    mentions: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def clean_post_text(text: str, *, allow_empty: bool = False, field_name: str = "text") -> str:
    """Normalise line endings and strip; raise ValidationError for empty, long or control text."""
    if not isinstance(text, str):
        raise ValidationError({field_name: "Text must be a string."})
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Trailing blanks on a line and runs of empty lines carry nothing a reader can see.
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    text = _BLANK_LINES.sub("\n\n", text)
    max_length = settings.HOLDFAST_POST_MAX_LENGTH
    if not text and not allow_empty:
        raise ValidationError({field_name: "Write something first: a post cannot be empty."})
    if len(text) > max_length:
        raise ValidationError(
            {field_name: f"Posts are at most {max_length} characters; this one has {len(text)}."}
        )
    bad = sorted(
        {ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs") and ch not in _ALLOWED_CONTROL}
    )
    if bad:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
        raise ValidationError({field_name: f"The text contains control characters ({codes})."})
    return text


def clean_content_warning(text: str) -> str:
    text = (text or "").strip()
    if len(text) > 200:
        raise ValidationError({"content_warning": "A content warning is at most 200 characters."})
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        raise ValidationError({"content_warning": "The content warning contains control characters."})
    return text


def parse(text: str) -> ParsedText:
    parsed = ParsedText()
    for match in TOKEN_RE.finditer(text):
        if match.group("url"):
            parsed.urls.append(match.group("url"))
        elif match.group("mention"):
            name = match.group("mention").lower()
            if name not in parsed.mentions:
                parsed.mentions.append(name)
        elif match.group("hashtag"):
            tag = match.group("hashtag").lower()
            if tag not in parsed.hashtags:
                parsed.hashtags.append(tag)
    return parsed


def render(text: str, known_usernames: Iterable[str] = ()) -> str:
    """Text to safe HTML. Only mentions of accounts that exist become links."""
    known = {name.lower() for name in known_usernames}
    out: list[str] = []
    position = 0
    for match in TOKEN_RE.finditer(text):
        out.append(escape(text[position : match.start()]))
        position = match.end()
        if url := match.group("url"):
            out.append(f'<a href="{escape(url)}" class="link">{escape(url)}</a>')
        elif (name := match.group("mention")) and name.lower() in known:
            href = reverse("profile", args=[name.lower()])
            out.append(f'<a href="{href}" class="mention">@{escape(name)}</a>')
        elif tag := match.group("hashtag"):
            href = reverse("hashtag", args=[tag.lower()])
            out.append(f'<a href="{href}" class="hashtag">#{escape(tag)}</a>')
        else:
            out.append(escape(match.group(0)))
    out.append(escape(text[position:]))
    paragraphs = "".join(out).split("\n\n")
    html = "".join(f"<p>{p.strip(chr(10)).replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())
    return sanitise(html)


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="nofollow noopener ugc",
    )
