"""Serializers for the moderation REST API."""

from rest_framework import serializers

from microblog.api.fields import ObjectIdField

from .models import (
    AccountAction,
    AccountActionKind,
    Appeal,
    AuditEntry,
    Category,
    ClassifierScore,
    ModerationCase,
    PolicyVersion,
    Report,
    Rule,
)


class ReportCreateSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices)
    post_id = ObjectIdField(required=False)
    username = serializers.CharField(required=False, max_length=30)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate(self, data):
        if ("post_id" in data) == bool(data.get("username")):
            raise serializers.ValidationError("Give either post_id or username.")
        return data


class ReportSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="case.status", read_only=True)
    outcome = serializers.CharField(source="case.outcome", read_only=True)

    class Meta:
        model = Report
        fields = ["id", "category", "post", "account", "comment", "case", "status", "outcome", "created_at"]


class ScoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassifierScore
        fields = ["classifier", "version", "category", "score", "detail", "created_at"]


class CaseSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.username", read_only=True)
    claimed_by = serializers.CharField(source="claimed_by.username", read_only=True, default=None)
    post_text = serializers.CharField(source="post.text", read_only=True, default=None)

    class Meta:
        model = ModerationCase
        fields = [
            "id",
            "post",
            "post_text",
            "account",
            "status",
            "category",
            "priority",
            "reasons",
            "automated",
            "report_count",
            "claimed_by",
            "claimed_at",
            "decided_by_label",
            "decided_at",
            "outcome",
            "decision_reason",
            "created_at",
        ]


class CaseDetailSerializer(CaseSerializer):
    scores = serializers.SerializerMethodField()
    reports = ReportSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "scores", "reports"]

    def get_scores(self, case) -> list[dict]:
        if not case.post_id:
            return []
        return ScoreSerializer(case.post.moderation_scores.order_by("id"), many=True).data


class CasePageSerializer(serializers.Serializer):
    results = CaseSerializer(many=True)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "remove", "escalate", "dismiss"])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class BulkDecisionSerializer(DecisionSerializer):
    cases = serializers.ListField(child=ObjectIdField(), min_length=1, max_length=200)


class BulkResultSerializer(serializers.Serializer):
    decided = serializers.ListField(child=serializers.IntegerField())
    errors = serializers.DictField(child=serializers.CharField())


class ClaimSerializer(serializers.Serializer):
    release = serializers.BooleanField(required=False, default=False)


class AccountActionCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AccountActionKind.choices)
    days = serializers.IntegerField(min_value=0, max_value=3650, default=0)
    reason = serializers.CharField(max_length=2000)


class AccountActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountAction
        fields = ["id", "account", "kind", "until", "reason", "automatic", "case", "lifted_at", "created_at"]


class AppealCreateSerializer(serializers.Serializer):
    case = ObjectIdField()
    text = serializers.CharField(max_length=2000)


class AppealSerializer(serializers.ModelSerializer):
    class Meta:
        model = Appeal
        fields = ["id", "case", "text", "status", "decided_at", "decision_reason", "created_at"]


class AppealDecisionSerializer(serializers.Serializer):
    reverse = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000)


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "actor_label", "action", "target_type", "target_id", "reason", "detail", "created_at"]


class AuditPageSerializer(serializers.Serializer):
    results = AuditEntrySerializer(many=True)
    next = serializers.CharField(allow_null=True)


class RuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rule
        fields = ["id", "category", "kind", "pattern", "action", "enabled", "note", "created_at"]
        read_only_fields = ["id", "created_at"]


class PolicyVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyVersion
        fields = ["id", "status", "thresholds", "model_versions", "proposed_by_label", "method", "data",
                  "figures", "refusal_reason", "previous", "applied_by_label", "applied_at", "created_at"]


class PolicyInForceSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="0: the thresholds shipped with the models.")
    thresholds = serializers.JSONField()
    note = serializers.CharField(help_text="Why the active version is not used, if it is not.")
    versions = PolicyVersionSerializer(many=True)


class PolicyChangeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
