from django.apps import AppConfig
from django.conf import settings

# OpenAPI enum names for the moderation API's choice sets (several are called "kind" or
# "status"). SPECTACULAR_SETTINGS is defined after moderation.conf is imported, so they are
# added here, before any schema is generated.
ENUM_NAME_OVERRIDES = {
    "AccountActionKindEnum": "moderation.models.AccountActionKind",
    "RuleKindEnum": "moderation.models.RuleKind",
    "CaseStatusEnum": "moderation.models.CaseStatus",
    "AppealStatusEnum": "moderation.models.AppealStatus",
    "ModerationCategoryEnum": "moderation.models.Category",
    "CaseOutcomeEnum": "moderation.models.Outcome",
}


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        from microblog.posts.signals import posts_committed

        from .pipeline import enqueue_posts

        posts_committed.connect(enqueue_posts, dispatch_uid="moderation.enqueue_posts")
        spectacular = getattr(settings, "SPECTACULAR_SETTINGS", None)
        if isinstance(spectacular, dict):
            overrides = spectacular.setdefault("ENUM_NAME_OVERRIDES", {})
            for name, path in ENUM_NAME_OVERRIDES.items():
                overrides.setdefault(name, path)
