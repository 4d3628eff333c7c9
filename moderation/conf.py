"""Moderation settings, imported into microblog.settings (overridable by environment)."""

import environ

env = environ.Env()
