"""Model instances from hand-written SQL rows, for the few queries too hot for the ORM.

The ORM's own path (compile the query, then ``Model.from_db`` per row) costs more CPU than
PostgreSQL spends answering the home feed or a token lookup. ``ModelColumns`` is what a
query needs to select every column of one model under an alias and turn those columns of a
row back into an instance, with the same converters Django's compiler applies.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.db import connection
from django.db.models import Model, signals
from django.db.models.base import ModelState
from django.db.models.expressions import Col


@dataclass(frozen=True)
class ModelColumns:
    model: type[Model]
    alias: str
    select: str  # "alias"."column", ... for every concrete field
    columns: tuple[Col, ...]
    attnames: tuple[str, ...]
    # (index, converter) for the columns that have one: most have none on PostgreSQL.
    conversions: tuple[tuple[int, object], ...]

    @property
    def width(self) -> int:
        return len(self.attnames)

    def load(self, values: list, db: str, *, plain: bool | None = None) -> Model | None:
        """The instance these columns of a row hold (``values`` is changed in place), or
        None where a LEFT JOIN found nothing. ``plain`` is ``not sends_init_signals(model)``,
        for callers loading many rows that asked once."""
        if values[0] is None:
            return None
        columns = self.columns
        for index, convert in self.conversions:
            values[index] = convert(values[index], columns[index], connection)
        if plain is None:
            plain = not sends_init_signals(self.model)
        if not plain:
            return self.model.from_db(db, None, values)
        return instance_from_db(self.model, db, self.attnames, values)


@lru_cache(maxsize=32)
def model_columns(model: type[Model], alias: str, vendor: str) -> ModelColumns:
    """Every concrete column of ``model`` under ``alias``, as the database ``vendor`` returns them.

    The converters are what Django applies to a column of that field on this database (on
    SQLite, text into datetimes; on PostgreSQL next to nothing).
    """
    fields = list(model._meta.concrete_fields)
    columns = tuple(Col(alias, f) for f in fields)
    # Backend converters first, then the field's own: the order Django's compiler uses.
    conversions = tuple(
        (i, convert)
        for i, column in enumerate(columns)
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    )
    select = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
    attnames = tuple(f.attname for f in fields)
    return ModelColumns(model, alias, select, columns, attnames, conversions)


def sends_init_signals(model: type[Model]) -> bool:
    """Whether building an instance must go through ``Model.__init__`` for its receivers
    (an ImageField with dimension fields connects one, for example)."""
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def instance_from_db(model: type[Model], db: str, attnames: tuple[str, ...], values: list) -> Model:
    """What ``model.from_db(db, None, values)`` builds from a full row, in a fraction of the CPU.

    ``Model.__init__`` goes through every field's descriptor to store values that come from
    the database as they are; a page of the home feed builds about 40 instances, and that
    was a quarter of the request. This stores them directly, as the descriptors do for a
    fresh instance. It sends no pre_init/post_init signals: callers check
    ``sends_init_signals`` first and use ``from_db`` where it is true.
    """
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = instance._state = ModelState()
    state.adding, state.db = False, db
    return instance
