"""Property tests: whatever text people post, the rendered HTML is safe and says exactly
what they wrote (mentions, hashtags, links and content warnings included)."""

import re
from html.parser import HTMLParser
from urllib.parse import unquote

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from microblog.posts import text as post_text

ALLOWED = {"p", "br", "a"}

pieces = st.one_of(
    st.text(min_size=1, max_size=20),
    st.sampled_from(
        [
            "@alice",
            "@Bob_1",
            "#tag",
            "#Ünïcode",
            "https://example.org/a?b=1&c=<2>",
            "http://x.y/(z)",
            "<script>",
            '"><img src=x onerror=alert(1)>',
            "&amp;",
            "\n",
            "\n\n",
            "javascript:alert(1)",
            "@",
            "#",
            "bob@example.org",
            "\u202e",
            "\u200b",
            "\t",
        ]
    ),
)
texts = st.lists(pieces, min_size=1, max_size=12).map("".join)


class Extractor(HTMLParser):
    """Turns the rendered HTML back into text and records every tag and attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.paragraphs = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "p":
            if self.paragraphs:
                self.parts.append("\n\n")
            self.paragraphs += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def cleaned(raw: str) -> str:
    try:
        return post_text.clean_post_text(raw)
    except ValidationError:
        assume(False)
        raise


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(texts)
def test_rendered_html_is_safe_and_round_trips(raw):
    value = cleaned(raw)
    html = post_text.render(value, known_usernames=["alice", "bob_1"])
    parser = Extractor()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED
        assert not any(name.startswith("on") for name in attrs)
        if tag == "a":
            assert re.match(r"^(https?://|/)", attrs["href"])
    assert "".join(parser.parts) == value


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=250))
def test_content_warning_is_plain_text_or_rejected(raw):
    try:
        value = post_text.clean_content_warning(raw)
    except ValidationError:
        return
    assert len(value) <= 200
    assert not any(ord(ch) < 32 for ch in value)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_parse_finds_only_what_render_links(raw):
    value = cleaned(raw)
    parsed = post_text.parse(value)
    html = unquote(post_text.render(value, known_usernames=parsed.mentions))
    for name in parsed.mentions:
        assert f'href="/@{name}/"' in html
    for tag in parsed.hashtags:
        assert f"/tags/{tag}/" in html
