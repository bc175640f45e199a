from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("queues/", views.queue_overview, name="queues"),
]
