"""Limits of stored ids, shared by every app."""

# The largest primary key the databases can hold (PostgreSQL bigint, SQLite INTEGER). A
# larger number sent by a client must be refused or ignored before it reaches SQL: SQLite
# answers it with an OverflowError.
MAX_OBJECT_ID = 2**63 - 1
