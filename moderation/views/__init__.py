"""Moderation web screens, one module per screen; users' report and appeal forms in ``public``."""
