"""The versioned REST API (/api/v1/). Each app contributes its routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("cases.api_urls")),
    path("", include("escalations.api_urls")),
]
