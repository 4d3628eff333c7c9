"""Reports from apps land in the moderation queue exactly as the web UI's report form does."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from microblog.accounts import services as accounts
from microblog.posts.timelines import get_visible_post

from .. import entities, params, schema
from ..base import MastodonView
from ..entities import iso_datetime

# Mastodon's categories onto Holdfast's; Holdfast's own names are accepted as they are.
CATEGORIES = {"spam": "spam", "legal": "other", "violation": "other", "other": "other"}


class ReportView(MastodonView):
    required_scopes = {"POST": "write:reports"}
    throttle_scope = "reports"
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "account_id": {"type": "string"},
                    "status_ids": {"type": "array", "items": {"type": "string"}},
                    "comment": {"type": "string", "maxLength": 1000},
                    "category": {"type": "string"},
                    "forward": {"type": "boolean"},
                },
                "required": ["account_id"],
            }
        },
        responses=schema.ok(schema.REPORT),
        tags=["reports"],
    )
    def post(self, request: Request) -> Response:
        from moderation.models import Category
        from moderation.services import reports

        data = params.as_object(request.data)
        account_id = params.optional_id(data, "account_id")
        if account_id is None:
            raise ValidationError({"account_id": "can't be blank"})
        account = accounts.get_account_by_id(account_id)
        status_ids = params.ids(data, "status_ids", max_items=20)
        raw_category = params.text(data, "category", default="other", max_length=30) or "other"
        category = raw_category if raw_category in Category.values else CATEGORIES.get(raw_category)
        if category is None:
            raise ValidationError({"category": "is not included in the list"})
        comment = params.text(data, "comment", max_length=1000) or ""
        for post_id in status_ids:  # every reported post must be this account's
            if get_visible_post(request.user, post_id).author_id != account.pk:
                raise ValidationError({"status_ids": "must be statuses of the reported account"})
        if status_ids:
            made = [
                reports.report(request.user, category=category, post_id=post_id, comment=comment)
                for post_id in status_ids
            ]
        else:
            made = [
                reports.report(request.user, category=category, username=account.username, comment=comment)
            ]
        first = made[0]
        return Response(
            {
                "id": str(first.pk),
                "action_taken": False,
                "action_taken_at": None,
                "category": raw_category,
                "comment": first.comment,
                "forwarded": False,
                "created_at": iso_datetime(first.created_at),
                "status_ids": [str(i) for i in status_ids] or None,
                "rule_ids": None,
                "target_account": entities.account(account, self.context()),
            }
        )
