"""Serializer fields shared by the microblog and moderation APIs."""

from rest_framework import serializers

from microblog.ids import MAX_OBJECT_ID


class ObjectIdField(serializers.IntegerField):
    """The id of a stored object: a whole number from 1 to ``MAX_OBJECT_ID``.

    Without the upper bound an id too large for the database reaches the query, and SQLite
    answers it with an OverflowError (a 500) instead of a field error.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_OBJECT_ID)
        super().__init__(**kwargs)
