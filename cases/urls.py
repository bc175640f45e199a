from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("queues/", views.queue_overview, name="queues"),
    path("refunds/", views.refunds_attention, name="refunds"),
    path("refunds/<int:refund_id>/retry/", views.refund_retry_view, name="refund-retry"),
]
