from django.urls import path

from . import console_views, views, views_workspace

app_name = "cases"
urlpatterns = [
    path("queues/", views.queue_overview, name="queues"),
    path("heartbeat/", views.worker_heartbeat, name="heartbeat"),
    path("sla/", views.sla_report, name="sla-report"),
    path("refunds/", views.refunds_attention, name="refunds"),
    path("refunds/<int:refund_id>/retry/", views.refund_retry_view, name="refund-retry"),
    # Supervisor console (credits issue): supervisors only.
    path("console/", console_views.dashboard, name="console_dashboard"),
    path("console/credits/", console_views.credits_list, name="console_credits"),
    path("console/credits.csv", console_views.credits_csv, name="console_credits_csv"),
    path("console/refunds/", console_views.refunds_list, name="console_refunds"),
    path("console/refunds.csv", console_views.refunds_csv, name="console_refunds_csv"),
    path("console/approvals/", console_views.approvals, name="console_approvals"),
    path("console/approvals/<int:credit_id>/decide", console_views.approval_decide, name="console_approval_decide"),
    path("console/anomalies/", console_views.anomalies, name="console_anomalies"),
    path("console/limits/", console_views.limits, name="console_limits"),
    path("console/agents/<int:agent_id>/role", console_views.agent_role, name="console_agent_role"),
    # Goodwill credits on a case (associates; the workspace includes the panel).
    path("cases/<int:case_id>/credits/", console_views.case_credits, name="case_credits"),
    path(
        "cases/<int:case_id>/credits/<int:credit_id>/reverse", console_views.credit_reverse, name="case_credit_reverse"
    ),
    path("queues/take-next/", views.take_next, name="take_next"),
    path("presence/", views.presence, name="presence"),
    path("cases/<str:reference>/", views_workspace.workspace, name="workspace"),
    path("cases/<str:reference>/poll/", views_workspace.workspace_poll, name="workspace_poll"),
    path("cases/<str:reference>/reply/", views_workspace.workspace_reply, name="workspace_reply"),
    path("cases/<str:reference>/macro/", views_workspace.macro_fill, name="macro_fill"),
    path("cases/<str:reference>/assignees/", views_workspace.workspace_assignees, name="workspace_assignees"),
    path("cases/<str:reference>/do/<slug:action>/", views_workspace.case_action, name="case_action"),
]
