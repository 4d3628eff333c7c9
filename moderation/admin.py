"""Django admin for the moderation models. The audit log is read-only here as everywhere."""

from django.contrib import admin

from . import models


def _register_all() -> None:
    for model in (
        models.ClassifierScore,
        models.Verdict,
        models.ModerationCase,
        models.Report,
        models.Rule,
        models.AccountAction,
        models.Strike,
        models.Appeal,
        models.TextFingerprint,
    ):
        # Foreign keys as plain id inputs: a select of every post on the site would not load.
        raw_ids = [f.name for f in model._meta.fields if f.is_relation]
        admin.site.register(
            model, type(f"{model.__name__}Admin", (admin.ModelAdmin,), {"raw_id_fields": raw_ids})
        )


@admin.register(models.PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are proposed by propose_policy and applied or restored (audit-logged)
    at /moderation/policy/, never edited."""

    list_display = ("id", "status", "proposed_by_label", "created_at", "applied_by_label", "applied_at")
    list_filter = ("status",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("actor_label", "reason")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


_register_all()
