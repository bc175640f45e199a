from django.urls import path

from . import views_live_chat, views_portal

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
    path("chat/<str:reference>/", views_live_chat.live_chat, name="live_chat"),
    path("chat/<str:reference>/poll/", views_live_chat.live_chat_poll, name="live_chat_poll"),
]
