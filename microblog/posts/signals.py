"""Signals other apps (moderation) listen to; sent after the transaction commits."""

from django.dispatch import Signal

# Sent with ``post_ids`` once new or edited posts are durably stored.
posts_committed = Signal()
