"""Moderation settings, imported into microblog.settings (overridable by environment).

Every name here is a Django setting; see docs/moderation.md for what each one does.
"""

from datetime import timedelta

import environ

env = environ.Env()

# Classifiers run on every post, by dotted path (a registry: add your own, see
# moderation.classifiers.base.Classifier and docs/moderation.md).
HOLDFAST_MODERATION_CLASSIFIERS = env.list(
    "HOLDFAST_MODERATION_CLASSIFIERS",
    default=[
        "moderation.classifiers.rules.RuleClassifier",
        "moderation.classifiers.textmodel.TextModelClassifier",
        "moderation.classifiers.spam.SpamClassifier",
    ],
)
# Per-classifier options, keyed by dotted path (e.g. the HTTP plug-in's URL).
HOLDFAST_MODERATION_CLASSIFIER_OPTIONS: dict = {
    "moderation.classifiers.http.HttpClassifier": {
        "url": env.str("HOLDFAST_MODERATION_HTTP_URL", default=""),
        "timeout": env.float("HOLDFAST_MODERATION_HTTP_TIMEOUT", default=2.0),
    },
}
# Posts per task at most when traffic is high (one per task when it is low).
HOLDFAST_MODERATION_BATCH_SIZE = env.int("HOLDFAST_MODERATION_BATCH_SIZE", default=500)
# The sweeper re-queues posts still pending after this many seconds.
HOLDFAST_MODERATION_SWEEP_AGE = env.float("HOLDFAST_MODERATION_SWEEP_AGE", default=30.0)
HOLDFAST_MODERATION_SWEEP_INTERVAL = env.float("HOLDFAST_MODERATION_SWEEP_INTERVAL", default=15.0)
# Circuit breaker for plug-in classifiers: open after N failures in a row, for S seconds.
HOLDFAST_MODERATION_BREAKER_FAILURES = env.int("HOLDFAST_MODERATION_BREAKER_FAILURES", default=3)
HOLDFAST_MODERATION_BREAKER_COOLDOWN = env.float("HOLDFAST_MODERATION_BREAKER_COOLDOWN", default=30.0)
# Seconds one classifier may take for one batch before its posts go to humans (0 = no limit).
HOLDFAST_MODERATION_CLASSIFIER_TIMEOUT = env.float("HOLDFAST_MODERATION_CLASSIFIER_TIMEOUT", default=10.0)
# Regex rules: seconds a single match may take before it is abandoned.
HOLDFAST_MODERATION_REGEX_TIMEOUT = env.float("HOLDFAST_MODERATION_REGEX_TIMEOUT", default=0.05)
# Strike escalation: with N active strikes, take this action for this many days
# (0 days = indefinitely). The highest matching N applies.
HOLDFAST_MODERATION_STRIKE_RULES = [
    {"strikes": 2, "action": "limit", "days": 7},
    {"strikes": 3, "action": "suspend", "days": 30},
    {"strikes": 5, "action": "suspend", "days": 0},
]
HOLDFAST_MODERATION_STRIKE_EXPIRY_DAYS = env.int("HOLDFAST_MODERATION_STRIKE_EXPIRY_DAYS", default=90)
# An author may appeal a decision for this many days after it (0 = no limit).
HOLDFAST_MODERATION_APPEAL_WINDOW_DAYS = env.int("HOLDFAST_MODERATION_APPEAL_WINDOW_DAYS", default=30)
# Thresholds for classifiers other than the trained model (which brings its own,
# calibrated on the dev split, in moderation/ml/artefacts/thresholds.json).
HOLDFAST_MODERATION_THRESHOLDS = {
    "spam": {"review_at": 0.5, "remove_at": 0.95},
    "external": {"review_at": 0.5, "remove_at": 0.95},
}
# Spam and flood heuristics.
HOLDFAST_MODERATION_SPAM = {
    "window_seconds": env.int("HOLDFAST_MODERATION_SPAM_WINDOW", default=600),
    "same_author_repeats": 3,  # same text from one account this often in the window
    "many_accounts": 5,  # same text from this many accounts in the window
    "new_account_days": 7,
    "new_account_links": 2,
    "posts_per_minute": 20,
}

# Second stage (moderation.ml.deep): fine-tuned MiniLM + a small head re-decide the posts the
# text model alone sent to review, on their own queue. Needs the `deep` extra (torch) and a
# worker on that queue (`celery -A microblog worker -Q moderation_deep -c 1`). Off here (make
# run, tests); the Ansible and Docker Compose deployments set it true and run that worker. A
# worker without the extra leaves the posts to humans whatever this says.
HOLDFAST_MODERATION_DEEP = env.bool("HOLDFAST_MODERATION_DEEP", default=False)
HOLDFAST_MODERATION_DEEP_QUEUE = "moderation_deep"
# Posts per second-stage task (MiniLM reads them in one batch).
HOLDFAST_MODERATION_DEEP_BATCH_SIZE = env.int("HOLDFAST_MODERATION_DEEP_BATCH_SIZE", default=64)
# Torch threads per deep worker process (0: torch's default, one per core).
HOLDFAST_MODERATION_DEEP_THREADS = env.int("HOLDFAST_MODERATION_DEEP_THREADS", default=0)
# Seconds each web process keeps its answer to "which workers consume moderation_deep?" (a
# broadcast that waits 1 s for replies) for /readyz and /metrics.
HOLDFAST_MODERATION_DEEP_STATUS_TTL = env.float("HOLDFAST_MODERATION_DEEP_STATUS_TTL", default=15.0)

# Learning from the community (moderation.learning): a beat task proposes thresholds recalibrated
# on the moderators' recent decisions plus the shared dev data; an admin applies them at
# /moderation/policy/. Off by default; nothing is ever applied automatically.
HOLDFAST_MODERATION_PROPOSE_POLICY = env.bool("HOLDFAST_MODERATION_PROPOSE_POLICY", default=False)
HOLDFAST_MODERATION_PROPOSE_POLICY_DAYS = env.float("HOLDFAST_MODERATION_PROPOSE_POLICY_DAYS", default=7.0)
# Decisions of the last N days count as the community's recent decisions.
HOLDFAST_MODERATION_PROPOSE_POLICY_WINDOW_DAYS = env.int(
    "HOLDFAST_MODERATION_PROPOSE_POLICY_WINDOW_DAYS", default=90
)
# Fewest usable decisions (ok / offensive / hate / violence) in that window to propose from.
HOLDFAST_MODERATION_PROPOSE_POLICY_MIN_DECISIONS = env.int(
    "HOLDFAST_MODERATION_PROPOSE_POLICY_MIN_DECISIONS", default=30
)
# The directory with dev.csv ("" = ../shared/data/moderation next to the checkout).
HOLDFAST_MODERATION_POLICY_DATA = env.str("HOLDFAST_MODERATION_POLICY_DATA", default="")
# Overrides of the safety targets proposals are calibrated and checked against (see docs).
HOLDFAST_MODERATION_POLICY_TARGETS: dict = {}

CELERY_TASK_ROUTES = {
    "moderation.moderate_deep": {"queue": HOLDFAST_MODERATION_DEEP_QUEUE},
    "moderation.*": {"queue": "moderation"},
}
CELERY_BEAT_SCHEDULE = {
    "moderation-sweep": {
        "task": "moderation.sweep_pending",
        "schedule": timedelta(seconds=HOLDFAST_MODERATION_SWEEP_INTERVAL),
        "options": {"queue": "moderation", "expires": HOLDFAST_MODERATION_SWEEP_INTERVAL},
    },
    "moderation-expire-actions": {
        "task": "moderation.expire_account_actions",
        "schedule": timedelta(minutes=5),
        "options": {"queue": "moderation"},
    },
    "moderation-prune-fingerprints": {
        "task": "moderation.prune_fingerprints",
        "schedule": timedelta(hours=1),
        "options": {"queue": "moderation"},
    },
}
if HOLDFAST_MODERATION_PROPOSE_POLICY:
    # With the second stage on, propose where torch is (the deep worker), so both stages are
    # recalibrated; the deep queue waits meanwhile (its posts are held: nothing is lost).
    CELERY_BEAT_SCHEDULE["moderation-propose-policy"] = {
        "task": "moderation.propose_policy",
        "schedule": timedelta(days=HOLDFAST_MODERATION_PROPOSE_POLICY_DAYS),
        "options": {"queue": HOLDFAST_MODERATION_DEEP_QUEUE if HOLDFAST_MODERATION_DEEP else "moderation"},
    }
