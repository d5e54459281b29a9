from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from callsop.desk.views import (
    calls,
    dashboard,
    desk,
    health,
    inbox,
    jobs,
    knowledge,
    policy,
    push,
    recordings,
    scorecards,
    telephony,
)

urlpatterns = [
    path("", desk.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="desk/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("desk/", desk.desk, name="desk"),
    path("desk/ringing/", desk.ringing, name="ringing"),
    path("desk/due/", desk.due, name="desk-due"),
    path("desk/push/", push.stream, name="desk-push"),
    path("desk/presence/", desk.presence, name="presence"),
    path("calls/", desk.call_list, name="calls"),
    path("calls/new-incoming/", calls.call_new_incoming, name="call-new-incoming"),
    path("calls/new-outgoing/", calls.call_new_outgoing, name="call-new-outgoing"),
    path("calls/<int:pk>/", calls.call_page, name="call"),
    path("calls/<int:pk>/panel/", calls.call_panel, name="call-panel"),
    path("calls/<int:pk>/details/", calls.call_details, name="call-details"),
    path("calls/<int:pk>/record.json", scorecards.call_record, name="call-record"),
    path("calls/<int:pk>/dispute/", scorecards.dispute_new, name="dispute-new"),
    path("calls/<int:pk>/transcript/", scorecards.transcript_upload, name="transcript-upload"),
    path("calls/<int:pk>/recording/", recordings.recording_upload, name="recording-upload"),
    path("recordings/<int:pk>/status/", recordings.recording_progress, name="recording-status"),
    path("recordings/<int:pk>/audio.ogg", recordings.recording_audio, name="recording-audio"),
    path("calls/<int:pk>/<slug:action>/", calls.call_action, name="call-action"),
    path("disputes/<int:pk>/settle/", scorecards.dispute_decide, name="dispute-settle"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("memos/<int:pk>/ack/", inbox.memo_ack, name="memo-ack"),
    path("memos/<int:pk>/called-back/", inbox.memo_done, name="memo-called-back"),
    path("tasks/<int:pk>/done/", inbox.task_close, name="task-done"),
    path("tasks/<int:pk>/dial/", inbox.task_dial, name="task-dial"),
    path("complaints/<int:pk>/", inbox.complaint_update, name="complaint-update"),
    path("escalations/<int:pk>/seen/", inbox.escalation_seen, name="escalation-seen"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard.csv", dashboard.dashboard_csv, name="dashboard-csv"),
    path("knowledge/", knowledge.knowledge, name="knowledge"),
    path("knowledge/new/", knowledge.knowledge_edit, name="knowledge-new"),
    path("knowledge/<int:pk>/", knowledge.knowledge_edit, name="knowledge-edit"),
    path("policy/", policy.policy, name="policy"),
    path("policy/export.toml", policy.policy_export, name="policy-export"),
    path("rules/<str:rule_id>/", policy.rule_page, name="rule"),
    path("telephony/webhook/", telephony.pbx_webhook, name="pbx-webhook"),
    path("jobs/", jobs.jobs_page, name="jobs"),
    path("jobs/<str:job_id>/retry/", jobs.job_retry, name="job-retry"),
    path("healthz", health.healthz, name="healthz"),
]
