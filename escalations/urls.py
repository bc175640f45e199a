from django.urls import path

from . import views, views_live_chat, views_portal

app_name = "escalations"
urlpatterns = [
    path("signin/", views_portal.CustomerSignInView.as_view(), name="signin"),
    path("my/cases/", views_portal.my_cases, name="my_cases"),
    path("my/cases/<str:reference>/", views_portal.case_detail, name="case_detail"),
    path("my/cases/<str:reference>/reply/", views_portal.case_reply, name="case_reply"),
    path("my/cases/<str:reference>/reopen/", views_portal.case_reopen, name="case_reopen"),
    path("my/messages/", views_portal.message_center, name="message_center"),
    path("my/money/", views_portal.money, name="money"),
    path("my/callback/", views_portal.callback_new, name="callback_new"),
    path("my/claims/new/", views_portal.claim_new, name="claim_new"),
    path("chat/<str:reference>/", views_live_chat.live_chat, name="live_chat"),
    path("chat/<str:reference>/poll/", views_live_chat.live_chat_poll, name="live_chat_poll"),
    path("help/", views.help_home, name="help_home"),
    path("help/something-else/", views.help_something_else, name="help_something_else"),
    path("help/chat/<int:pk>/", views.help_chat, name="help_chat"),
    path("help/chat/<int:pk>/callback/", views.help_callback, name="help_callback"),
    path("help/chat/<int:pk>/transfer/", views.help_transfer, name="help_transfer"),
    path("help/callback/<str:reference>/", views.help_callback_requested, name="help_callback_requested"),
    path("help/report-phishing/", views.report_phishing, name="report_phishing"),
]
