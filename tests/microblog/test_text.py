import re

import pytest
from django.core.exceptions import ValidationError

from microblog.posts import text


def test_mentions_hashtags_and_links_become_links():
    html = text.render("hi @alice see #Garden at https://example.org/x?a=1&b=2.", ["alice"])
    assert re.search(r'<a href="/@alice/" class="mention"[^>]*>@alice</a>', html)
    assert re.search(r'<a href="/tags/garden/" class="hashtag"[^>]*>#Garden</a>', html)
    assert 'href="https://example.org/x?a=1&amp;b=2"' in html
    assert html.endswith(".</p>")  # trailing punctuation is not part of the link


def test_unknown_mentions_stay_text():
    assert "<a" not in text.render("hello @nobody", [])


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "javascript:alert(1)",
        '"><svg onload=alert(1)>',
        'https://x.org/"onmouseover=alert(1)',
    ],
)
def test_html_in_text_is_escaped(payload):
    html = text.render(payload)
    tags = set(re.findall(r"<\s*/?\s*([a-zA-Z]+)", html))
    assert tags <= {"p", "a", "br"}
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("https://", "http://", "/"))
    assert re.search(r"<a [^>]*\son\w+=", html) is None


def test_paragraphs_and_line_breaks():
    assert text.render("one\ntwo\n\nthree") == "<p>one<br>two</p><p>three</p>"


def test_parse_collects_unique_lowercase_names():
    parsed = text.parse("@Bob @bob #Tag #tag https://a.b/c")
    assert parsed.mentions == ["bob"]
    assert parsed.hashtags == ["tag"]
    assert parsed.urls == ["https://a.b/c"]


def test_email_address_is_not_a_mention():
    assert text.parse("mail me at bob@example.org").mentions == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "cannot be empty"),
        ("   \n ", "cannot be empty"),
        ("x" * 501, "at most 500"),
        ("bad \x00 byte", "control characters"),
        ("bell \x07", "control characters"),
    ],
)
def test_bad_text_is_rejected_with_a_clear_message(value, message, settings):
    with pytest.raises(ValidationError) as err:
        text.clean_post_text(value)
    assert message in " ".join(err.value.messages)


def test_text_is_trimmed_and_newlines_normalised():
    assert text.clean_post_text("  a\r\nb  ") == "a\nb"


def test_max_length_is_configurable(settings):
    settings.HOLDFAST_POST_MAX_LENGTH = 10
    with pytest.raises(ValidationError):
        text.clean_post_text("x" * 11)
    assert text.clean_post_text("x" * 10)
