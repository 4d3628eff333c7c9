"""microblog.rows and microblog.counters: the hand-written SQL paths behave as the ORM would."""

from django.db import connection
from django.db.models import signals

from microblog.accounts.models import User
from microblog.accounts.services import follow, unfollow
from microblog.counters import change_count
from microblog.posts.models import Post
from microblog.rows import model_columns, sends_init_signals


def _row_of(columns, pk: int) -> list:
    table = columns.model._meta.db_table
    with connection.cursor() as cursor:
        sql = f"SELECT {columns.select} FROM {table} {columns.alias} WHERE {columns.alias}.id = %s"  # noqa: S608
        cursor.execute(sql, [pk])
        return list(cursor.fetchone())


def test_loaded_instance_is_what_the_orm_builds(make_user, publish):
    author = make_user("alice")
    post = publish(author, "hello #rows")
    for model, pk in ((Post, post.pk), (User, author.pk)):
        columns = model_columns(model, "x", connection.vendor)
        loaded = columns.load(_row_of(columns, pk), connection.alias)
        expected = model.objects.get(pk=pk)
        assert type(loaded) is model
        assert {f.attname: getattr(loaded, f.attname) for f in model._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in model._meta.concrete_fields
        }
        assert not loaded._state.adding and loaded._state.db == "default"


def test_loaded_instance_saves_as_an_update_and_reads_relations(make_user, publish):
    author = make_user("bob")
    post = publish(author, "first")
    columns = model_columns(Post, "p", connection.vendor)
    loaded = columns.load(_row_of(columns, post.pk), connection.alias)
    assert loaded.author == author  # the relation loads through the normal descriptor
    loaded.text = "changed"
    loaded.save(update_fields=["text"])
    assert Post.objects.count() == 1 and Post.objects.get(pk=post.pk).text == "changed"


def test_a_model_with_init_receivers_takes_the_orm_path(make_user):
    user = make_user("carol")
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    assert not sends_init_signals(User)
    signals.post_init.connect(receiver, sender=User)
    try:
        assert sends_init_signals(User)
        columns = model_columns(User, "u", connection.vendor)
        loaded = columns.load(_row_of(columns, user.pk), connection.alias)
    finally:
        signals.post_init.disconnect(receiver, sender=User)
    assert seen == [loaded]


def test_counts_never_go_below_zero(make_user):
    a, b = make_user("dave"), make_user("erin")
    change_count(User, a.pk, "followers_count", -1)
    a.refresh_from_db()
    assert a.followers_count == 0
    follow(b, a)
    unfollow(b, a)
    unfollow(b, a)  # a second unfollow changes nothing
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.followers_count, b.following_count) == (0, 0)
    change_count(User, a.pk, "followers_count", 3)
    a.refresh_from_db()
    assert a.followers_count == 3


def test_links_match_reverse_for_every_post_card_url(make_user, publish):
    from django.urls import reverse

    from microblog.links import link

    author = make_user("frank_1")
    post = publish(author, "linked")
    assert author.get_absolute_url() == reverse("profile", args=[author.username])
    assert post.get_absolute_url() == post.links.detail == reverse("post-detail", args=[post.pk])
    for action in ("like", "unlike", "repost", "unrepost"):
        assert getattr(post.links, action) == reverse("post-action", args=[post.pk, action])
    for attribute, name in (("edit", "post-edit"), ("delete", "post-delete"), ("history", "post-history")):
        assert getattr(post.links, attribute) == reverse(name, args=[post.pk])
    assert post.links.report == reverse("moderation:report-post", args=[post.pk])
    # A value reverse() would quote takes reverse()'s own path.
    assert link("profile", "ünï") == reverse("profile", args=["ünï"])
