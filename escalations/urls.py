from django.urls import path

from . import views, views_live_chat

app_name = "escalations"
urlpatterns = [
    path("my/cases/", views.my_cases, name="my_cases"),
    path("chat/<str:reference>/", views_live_chat.live_chat, name="live_chat"),
    path("chat/<str:reference>/poll/", views_live_chat.live_chat_poll, name="live_chat_poll"),
]
