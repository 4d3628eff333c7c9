from django.urls import path

from . import api_views as v

app_name = "moderation-api"
urlpatterns = [
    path("reports/", v.ReportsView.as_view(), name="reports"),
    path("appeals/", v.AppealsView.as_view(), name="appeals"),
    path("queue/", v.QueueView.as_view(), name="queue"),
    path("cases/bulk-decision/", v.BulkDecisionView.as_view(), name="bulk-decision"),
    path("cases/<int:case_id>/", v.CaseView.as_view(), name="case"),
    path("cases/<int:case_id>/claim/", v.ClaimView.as_view(), name="claim"),
    path("cases/<int:case_id>/decision/", v.DecisionView.as_view(), name="decision"),
    path("appeals/<int:appeal_id>/decision/", v.AppealDecisionView.as_view(), name="appeal-decision"),
    path("accounts/<str:username>/actions/", v.AccountActionView.as_view(), name="account-actions"),
    path("audit/", v.AuditView.as_view(), name="audit"),
    path("rules/", v.RulesView.as_view(), name="rules"),
    path("policy/", v.PolicyView.as_view(), name="policy"),
    path("policy/<int:version_id>/apply/", v.PolicyApplyView.as_view(), name="policy-apply"),
    path("policy/restore/", v.PolicyRestoreView.as_view(), name="policy-restore"),
]
