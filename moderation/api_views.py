"""REST API for reports (any signed-in user) and moderation (moderators only)."""

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from microblog.api.views import int_query_param, next_page_url
from microblog.ids import MAX_OBJECT_ID

from . import policy_versions, rules_service
from . import serializers as s
from .models import Appeal, AuditEntry, PolicyVersion, Report, Rule
from .permissions import IsModerator
from .services import accounts, appeals, cases, reports

User = get_user_model()
TAG = ["moderation"]


class ModeratorView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsModerator]


# For every signed-in user -------------------------------------------------------------------


class ReportsView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    throttle_scope = "reports"

    @extend_schema(responses=s.ReportSerializer(many=True), tags=TAG, summary="My reports and their outcome")
    def get(self, request: Request) -> Response:
        reports = Report.objects.filter(reporter=request.user).select_related("case").order_by("-id")[:100]
        return Response(s.ReportSerializer(reports, many=True).data)

    @extend_schema(
        request=s.ReportCreateSerializer,
        responses={201: s.ReportSerializer},
        tags=TAG,
        summary="Report a post or an account",
    )
    def post(self, request: Request) -> Response:
        data = s.ReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rep = reports.report(request.user, **data.validated_data)
        return Response(s.ReportSerializer(rep).data, status=status.HTTP_201_CREATED)


class AppealsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=s.AppealCreateSerializer,
        responses={201: s.AppealSerializer},
        tags=TAG,
        summary="Appeal a removal or account action (once)",
    )
    def post(self, request: Request) -> Response:
        data = s.AppealCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = cases.get_case(data.validated_data["case"])
        item = appeals.appeal(request.user, case, data.validated_data["text"])
        return Response(s.AppealSerializer(item).data, status=status.HTTP_201_CREATED)


# Moderators only ----------------------------------------------------------------------------


class QueueView(ModeratorView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="open (default), escalated or resolved"),
            OpenApiParameter("category", str),
            OpenApiParameter("limit", int),
        ],
        responses=s.CasePageSerializer,
        tags=TAG,
        summary="The review queue: severity, score, reach and reports, then time waiting",
    )
    def get(self, request: Request) -> Response:
        limit = int_query_param(request, "limit", 50, 1, 200)
        ranked = cases.ranked_queue(
            status=request.query_params.get("status", "open"),
            category=request.query_params.get("category", ""),
            limit=limit,
        )
        return Response({"results": s.CaseSerializer(ranked, many=True).data})


class CaseView(ModeratorView):
    @extend_schema(responses=s.CaseDetailSerializer, tags=TAG, summary="A case with scores and reports")
    def get(self, request: Request, case_id: int) -> Response:
        return Response(s.CaseDetailSerializer(cases.get_case(case_id)).data)


class ClaimView(ModeratorView):
    @extend_schema(
        request=s.ClaimSerializer, responses=s.CaseSerializer, tags=TAG, summary="Claim or release"
    )
    def post(self, request: Request, case_id: int) -> Response:
        data = s.ClaimSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = cases.claim(
            request.user, cases.get_case(case_id), release=data.validated_data["release"]
        )
        return Response(s.CaseSerializer(case).data)


class DecisionView(ModeratorView):
    @extend_schema(
        request=s.DecisionSerializer,
        responses=s.CaseSerializer,
        tags=TAG,
        summary="Approve, remove, escalate or dismiss a case",
    )
    def post(self, request: Request, case_id: int) -> Response:
        data = s.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = cases.decide_case(request.user, cases.get_case(case_id), **data.validated_data)
        return Response(s.CaseSerializer(cases.get_case(case.pk)).data)


class BulkDecisionView(ModeratorView):
    @extend_schema(
        request=s.BulkDecisionSerializer,
        responses=s.BulkResultSerializer,
        tags=TAG,
        summary="Decide many cases at once",
    )
    def post(self, request: Request) -> Response:
        data = s.BulkDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return Response(cases.bulk_decide(request.user, v["cases"], v["decision"], v.get("reason", "")))


class AccountActionView(ModeratorView):
    @extend_schema(
        request=s.AccountActionCreateSerializer,
        responses={201: s.AccountActionSerializer},
        tags=TAG,
        summary="Warn, limit or suspend an account",
    )
    def post(self, request: Request, username: str) -> Response:
        account = User.objects.filter(username__iexact=username).first()
        if account is None:
            raise Http404("No such account.")
        data = s.AccountActionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        action = accounts.take_account_action(request.user, account, **data.validated_data)
        return Response(s.AccountActionSerializer(action).data, status=status.HTTP_201_CREATED)


class AppealDecisionView(ModeratorView):
    @extend_schema(
        request=s.AppealDecisionSerializer,
        responses=s.AppealSerializer,
        tags=TAG,
        summary="Decide an appeal (a different moderator from the original decision)",
    )
    def post(self, request: Request, appeal_id: int) -> Response:
        item = Appeal.objects.filter(pk=appeal_id).first()
        if item is None:
            raise Http404("No such appeal.")
        data = s.AppealDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = appeals.decide_appeal(request.user, item, **data.validated_data)
        return Response(s.AppealSerializer(item).data)


class AuditView(ModeratorView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int),
            OpenApiParameter("limit", int),
            OpenApiParameter("action", str),
            OpenApiParameter("target_type", str),
            OpenApiParameter("target_id", int),
        ],
        responses=s.AuditPageSerializer,
        tags=TAG,
        summary="The append-only audit log, newest first",
    )
    def get(self, request: Request) -> Response:
        before = int_query_param(request, "before", None, 1, MAX_OBJECT_ID)
        limit = int_query_param(request, "limit", 50, 1, 200)
        target_id = int_query_param(request, "target_id", None, 0, MAX_OBJECT_ID)
        qs = AuditEntry.objects.all()
        if before:
            qs = qs.filter(id__lt=before)
        if request.query_params.get("action"):
            qs = qs.filter(action=request.query_params["action"])
        if request.query_params.get("target_type"):
            qs = qs.filter(target_type=request.query_params["target_type"])
        if target_id is not None:
            qs = qs.filter(target_id=target_id)
        rows = list(qs.order_by("-id")[: limit + 1])
        cursor = rows[limit - 1].pk if len(rows) > limit else None
        return Response(
            {
                "results": s.AuditEntrySerializer(rows[:limit], many=True).data,
                "next": next_page_url(request, cursor),
            }
        )


class RulesView(ModeratorView):
    @extend_schema(responses=s.RuleSerializer(many=True), tags=TAG, summary="All rules")
    def get(self, request: Request) -> Response:
        return Response(s.RuleSerializer(Rule.objects.all(), many=True).data)

    @extend_schema(
        request=s.RuleSerializer,
        responses={201: s.RuleSerializer},
        tags=TAG,
        summary="Add a keyword, regex or domain rule (bad or slow regexes are refused)",
    )
    def post(self, request: Request) -> Response:
        data = s.RuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = rules_service.create_rule(request.user, **data.validated_data)
        return Response(s.RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class PolicyView(ModeratorView):
    @extend_schema(responses=s.PolicyInForceSerializer, tags=TAG,
                   summary="The policy version in force and the latest 50 versions with their figures")
    def get(self, request: Request) -> Response:
        _, in_force, note = policy_versions.in_force()
        versions = PolicyVersion.objects.all()[:50]
        return Response({"version": in_force.version, "thresholds": in_force.to_json(), "note": note,
                         "versions": s.PolicyVersionSerializer(versions, many=True).data})


class PolicyApplyView(ModeratorView):
    @extend_schema(request=s.PolicyChangeSerializer, responses=s.PolicyVersionSerializer, tags=TAG,
                   summary="Put a proposed policy version in force (admins)")
    def post(self, request: Request, version_id: int) -> Response:
        data = s.PolicyChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = PolicyVersion.objects.filter(pk=version_id).first()
        if version is None:
            raise Http404
        version = policy_versions.apply(request.user, version, data.validated_data["reason"])
        return Response(s.PolicyVersionSerializer(version).data)


class PolicyRestoreView(ModeratorView):
    @extend_schema(request=s.PolicyChangeSerializer, responses=s.PolicyInForceSerializer, tags=TAG,
                   summary="Put the previous policy version back in force (admins)")
    def post(self, request: Request) -> Response:
        data = s.PolicyChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy_versions.restore_previous(request.user, data.validated_data["reason"])
        return PolicyView().get(request)
