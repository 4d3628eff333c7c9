from django.urls import path

from .views import accounts, appeals, audit, cases, dashboard, policy, public, queue, reports, rules

app_name = "moderation"
urlpatterns = [
    path("", queue.queue, name="queue"),
    path("cases/bulk/", queue.bulk, name="bulk"),
    path("cases/<int:case_id>/", cases.case_detail, name="case"),
    path("rules/", rules.rule_list, name="rules"),
    path("rules/<int:rule_id>/", rules.rule_edit, name="rule"),
    path("reports/", reports.report_list, name="reports"),
    path("appeals/", appeals.appeal_list, name="appeals"),
    path("appeals/<int:appeal_id>/", appeals.appeal_decide, name="appeal-decide"),
    path("audit/", audit.audit_log, name="audit"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("policy/", policy.policy_list, name="policy"),
    path("policy/<int:version_id>/apply/", policy.policy_apply, name="policy-apply"),
    path("policy/restore/", policy.policy_restore, name="policy-restore"),
    path("accounts/<str:username>/", accounts.account_detail, name="account"),
    # for every signed-in user
    path("report/post/<int:post_id>/", public.report_post, name="report-post"),
    path("report/account/<str:username>/", public.report_account, name="report-account"),
    path("appeal/<int:case_id>/", public.appeal, name="appeal"),
    path("mine/", public.my_decisions, name="mine"),
]
