"""Database backends: Django's own, tuned for Holdfast's hot paths."""
