"""GIN indexes for full-text search, on PostgreSQL only (SQLite searches without them).

They are built from the very expressions ``microblog.posts.search`` queries with, so the
planner can match them; they are not in the models' Meta because SQLite cannot build them.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

POST_INDEX = GinIndex(SearchVector("text", config="english"), name="post_text_search")
ACCOUNT_INDEX = GinIndex(
    SearchVector("username", "display_name", config="simple"), name="account_name_search"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.add_index(apps.get_model("posts", "Post"), POST_INDEX)
    schema_editor.add_index(apps.get_model("accounts", "User"), ACCOUNT_INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("posts", "Post"), POST_INDEX)
    schema_editor.remove_index(apps.get_model("accounts", "User"), ACCOUNT_INDEX)


class Migration(migrations.Migration):
    dependencies = [("posts", "0001_initial"), ("accounts", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
