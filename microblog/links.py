"""URLs of the objects every page lists (a post, its actions, its author's profile),
built from the URL's shape instead of a ``reverse()`` per object.

A timeline page showed about 150 links, and reversing each one (in ``{% url %}`` or
``get_absolute_url``) was a quarter of the page's CPU. The shape around the one varying
argument is reversed once per URL name and script prefix.
"""

import re
from functools import lru_cache

from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.urls import get_script_prefix, reverse

# A value valid for every one-value pattern here (an id or a username) and found nowhere
# else in a URL, so the text around it is the URL's shape.
_SAMPLE = "8675309"
# Values that reverse() puts into the URL unchanged (it would quote anything else).
_PLAIN = re.compile(r"[A-Za-z0-9_]+")


@lru_cache(maxsize=64)
def _shape(name: str, fixed: tuple[str, ...], script_prefix: str) -> tuple[str, str] | None:
    url = reverse(name, args=[_SAMPLE, *fixed])
    if url.count(_SAMPLE) != 1:
        return None
    head, _, tail = url.partition(_SAMPLE)
    return head, tail


def url_shape(name: str, *fixed: str) -> tuple[str, str] | None:
    """The text before and after the varying argument of ``name``'s URL, or None where the
    URL cannot be built that way. For callers building many URLs of one kind at once."""
    return _shape(name, fixed, get_script_prefix())


def link(name: str, value: int | str, *fixed: str, shape: tuple[str, str] | None = None) -> str:
    """``reverse(name, args=[value, *fixed])`` for one varying value (an id or a username).

    ``shape`` is ``url_shape(name, *fixed)`` for callers that looked it up once for many links.
    """
    if _PLAIN.fullmatch(str(value)):
        shape = shape or url_shape(name, *fixed)
        if shape is not None:
            return f"{shape[0]}{value}{shape[1]}"
    return reverse(name, args=[value, *fixed])


def stored_file_url(instance: Model, field_name: str) -> str | None:
    """The URL of a file field's stored file, or None when there is none.

    What ``instance.<field>.url`` gives, without the descriptor's ``FieldFile``: that object
    points back at the instance, and the reference cycle left every author on a timeline
    page for the cyclic garbage collector instead of freeing it when the response was done.
    """
    stored = instance.__dict__
    value = stored[field_name] if field_name in stored else getattr(instance, field_name)  # deferred
    name = value.name if isinstance(value, FieldFile) else value
    if not name:
        return None
    return instance._meta.get_field(field_name).storage.url(name)
