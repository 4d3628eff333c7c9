"""What moderation records: scores, verdicts, cases, reports, rules, sanctions, appeals, audit.

Every automated and human decision also lands in ``AuditEntry``, which is append-only:
the model and its queryset refuse updates and deletes, and on PostgreSQL a trigger
(migration 0002) refuses them in the database itself.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Category(models.TextChoices):
    VIOLENCE = "violence", "Violence"
    HATE = "hate", "Hate"
    OFFENSIVE = "offensive", "Offensive"
    SPAM = "spam", "Spam"
    OTHER = "other", "Other"


class Action(models.TextChoices):
    ALLOW = "allow", "Allow"
    REVIEW = "review", "Hold for review"
    REMOVE = "remove", "Remove"


class ClassifierScore(models.Model):
    """One score one classifier (at one version) gave one post for one category."""

    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="moderation_scores")
    classifier = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    category = models.CharField(max_length=20)
    score = models.FloatField()
    detail = models.JSONField(default=dict, blank=True, help_text="Matched rules, heuristics, errors.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["post", "classifier"], name="mod_score_post")]

    def __str__(self) -> str:
        return f"{self.classifier}@{self.version} {self.category}={self.score:.3f} on {self.post_id}"


class Verdict(models.Model):
    """The outcome of one moderation pass over a post (automated or human)."""

    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="moderation_verdicts")
    action = models.CharField(max_length=10, choices=Action.choices)
    category = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    automated = models.BooleanField(default=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    classifiers = models.CharField(max_length=300, blank=True, help_text="name@version, comma-separated.")
    latency = models.FloatField(default=0.0, help_text="Seconds from the post's commit to this verdict.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.action} post {self.post_id}"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    ESCALATED = "escalated", "Escalated"
    RESOLVED = "resolved", "Resolved"


class Outcome(models.TextChoices):
    APPROVED = "approved", "Approved (no violation)"
    REMOVED = "removed", "Removed"
    ACTIONED = "actioned", "Account actioned"
    DISMISSED = "dismissed", "Dismissed"


OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.ESCALATED)


class ModerationCase(models.Model):
    """Something for a human to decide: one open case per post, or per account."""

    post = models.ForeignKey(
        "posts.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="moderation_cases"
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderation_cases"
    )
    status = models.CharField(
        max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN, db_index=True
    )
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    priority = models.FloatField(default=0.0, db_index=True)
    reasons = models.JSONField(default=list, blank=True)
    automated = models.BooleanField(
        default=False, help_text="Opened by the classifiers rather than a report."
    )
    report_count = models.PositiveIntegerField(default=0)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(
        max_length=150, blank=True, help_text="Moderator or classifier@version."
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["post"],
                condition=Q(status__in=["open", "escalated"], post__isnull=False),
                name="one_open_case_per_post",
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["open", "escalated"], post__isnull=True),
                name="one_open_case_per_account",
            ),
        ]

    def __str__(self) -> str:
        target = f"post {self.post_id}" if self.post_id else f"account {self.account_id}"
        return f"Case {self.pk} ({target}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Report(models.Model):
    """A user's report on a post or an account; merged into that target's open case."""

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    post = models.ForeignKey(
        "posts.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_received"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    comment = models.TextField(max_length=1000, blank=True)
    case = models.ForeignKey(ModerationCase, on_delete=models.CASCADE, related_name="reports")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Report {self.pk} by {self.reporter_id} ({self.category})"


class RuleKind(models.TextChoices):
    KEYWORD = "keyword", "Keyword or phrase"
    REGEX = "regex", "Regular expression"
    DOMAIN = "domain", "Link domain"


class Rule(models.Model):
    """A moderator-edited keyword, regex or link-domain rule for one category."""

    category = models.CharField(max_length=20, choices=Category.choices)
    kind = models.CharField(max_length=10, choices=RuleKind.choices)
    pattern = models.CharField(max_length=300)
    action = models.CharField(
        max_length=10,
        choices=[(Action.REVIEW, "Hold for review"), (Action.REMOVE, "Remove")],
        default=Action.REVIEW,
    )
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "kind", "pattern"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pattern!r} → {self.category}"


class AccountActionKind(models.TextChoices):
    WARN = "warn", "Warn"
    LIMIT = "limit", "Limit (posts held for review)"
    SUSPEND = "suspend", "Suspend (no login, content hidden)"


class AccountAction(models.Model):
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderation_actions"
    )
    kind = models.CharField(max_length=10, choices=AccountActionKind.choices)
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: until lifted.")
    reason = models.TextField(blank=True)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    automatic = models.BooleanField(default=False, help_text="Taken by the strike rule.")
    case = models.ForeignKey(
        ModerationCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.account_id} until {self.until or 'lifted'}"


class Strike(models.Model):
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strikes")
    case = models.ForeignKey(ModerationCase, on_delete=models.CASCADE, related_name="strikes")
    reason = models.TextField(blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Strike on {self.account_id} for case {self.case_id}"


class AppealStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a moderator"
    UPHELD = "upheld", "Decision upheld"
    REVERSED = "reversed", "Decision reversed"


class Appeal(models.Model):
    """The author's one appeal against one decision, decided by a different moderator."""

    case = models.OneToOneField(ModerationCase, on_delete=models.CASCADE, related_name="appeal")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appeals")
    text = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=AppealStatus.choices, default=AppealStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Appeal on case {self.case_id} ({self.status})"


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit entry."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")

    def delete(self):
        raise AppendOnlyError("The audit log is append-only.")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")


class AuditEntry(models.Model):
    """Who (a moderator, or classifier@version) did what to what, why, and when.

    Plain columns rather than foreign keys, so the record outlives what it describes.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=50, db_index=True)
    target_type = models.CharField(max_length=20)
    target_id = models.BigIntegerField()
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        when = f"{self.created_at:%Y-%m-%d %H:%M:%S}" if self.created_at else "-"
        return f"{when} {self.actor_label} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit log is append-only.")


class TextFingerprint(models.Model):
    """Digest of a post's normalised text, for duplicate and flood detection."""

    post = models.OneToOneField("posts.Post", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["digest", "created_at"], name="fingerprint_digest")]

    def __str__(self) -> str:
        return f"{self.digest} ({self.post_id})"


class PolicyStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"
    REFUSED = "refused", "Refused"


class PolicyVersion(models.Model):
    """One set of thresholds for every stage of the trained models, proposed from data and
    applied by an admin (``moderation.policy_versions``). The thresholds shipped with the
    model artefacts are version 0 and have no row: no active row means they are in force.

    A version's thresholds never change once stored; applying, restoring and refusing only
    move its status (and each move is in the audit log)."""

    thresholds = models.JSONField(
        help_text='{"first_stage": {...}, "first_stage_with_second": {...}|null, "second_stage": ...|null}'
    )
    model_versions = models.JSONField(
        default=dict, help_text="The model versions the thresholds were calibrated for (textmodel, deep)."
    )
    status = models.CharField(
        max_length=10, choices=PolicyStatus.choices, default=PolicyStatus.PROPOSED, db_index=True
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_by_label = models.CharField(max_length=150, help_text="Who or what proposed it.")
    method = models.CharField(max_length=200, blank=True, help_text="How it was computed.")
    data = models.JSONField(default=dict, blank=True, help_text="What it was computed from.")
    figures = models.JSONField(
        default=dict, blank=True, help_text="Policy figures before (the policy in force) and after, per set."
    )
    refusal_reason = models.TextField(blank=True)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The version in force when this one was applied (empty: version 0).",
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_by_label = models.CharField(max_length=150, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("apply_policyversion", "Can apply or restore a moderation policy version")]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_policy_version"
            ),
        ]

    def __str__(self) -> str:
        return f"Policy version {self.pk} ({self.status})"
