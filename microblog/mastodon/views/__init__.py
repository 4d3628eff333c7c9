"""The Mastodon client API, one module per resource; each calls the site's service modules."""
