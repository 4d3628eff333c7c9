"""The moderation service layer, one module per domain. The review UI, the API, the tasks and
the commands all call these functions, so every decision is taken (and audited) the same way.

- ``moderators``: who may moderate
- ``audit``: the audit log
- ``cases``: cases, their priority, the review queue, and moderators' decisions on them
- ``reports``: members reporting posts and accounts
- ``accounts``: account actions (warn, limit, suspend) and strikes
- ``appeals``: authors appealing decisions, and moderators deciding appeals
- ``verdicts``: what a verdict does to a post (withdraw, restore, tell the author)
- ``automated``: applying the classifiers' verdicts in bulk (called by the pipeline)

Import the module you need (``from moderation.services import cases``); this package
re-exports nothing, so each caller names the domain it depends on.
"""
