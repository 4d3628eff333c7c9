"""Reading Mastodon's request parameters: form-encoded (``media_ids[]=1``), JSON or query."""

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from microblog.ids import MAX_OBJECT_ID

TRUE = {"true", "1", "on", "yes"}
FALSE = {"false", "0", "off", "no", ""}


def as_object(data):
    """A JSON body that is a list or a bare value has no parameters to read."""
    if not hasattr(data, "get"):
        raise ValidationError("The request body must be a JSON object or a form")
    return data


def text(data, name: str, default: str | None = "", max_length: int = 100_000) -> str | None:
    value = as_object(data).get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationError({name: "must be text"})
    if len(value) > max_length:
        raise ValidationError({name: f"is too long (at most {max_length} characters)"})
    return value


def boolean(data, name: str, default: bool = False) -> bool:
    value = as_object(data).get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in TRUE:
        return True
    if str(value).lower() in FALSE:
        return False
    raise ValidationError({name: "must be true or false"})


def values(data, name: str) -> list:
    """``name[]`` (or ``name``) as a list, from a form, a query string or JSON."""
    if isinstance(data, QueryDict):
        return data.getlist(f"{name}[]") or data.getlist(name)
    value = as_object(data).get(f"{name}[]", data.get(name))
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def object_id(value, name: str) -> int:
    """An id as Mastodon sends it (a string of digits, or a number in JSON)."""
    if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(value) <= MAX_OBJECT_ID:
        raise ValidationError({name: "must be an id"})
    return int(value)


def optional_id(data, name: str) -> int | None:
    value = as_object(data).get(name)
    if value in (None, ""):
        return None
    return object_id(value, name)


def ids(data, name: str, max_items: int = 40) -> list[int]:
    found = values(data, name)
    if len(found) > max_items:
        raise ValidationError({name: f"at most {max_items}"})
    return [object_id(value, name) for value in found]
