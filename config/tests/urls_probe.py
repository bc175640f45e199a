"""Test-only URLconf: tiny API views that use the shared throttle and webhook helpers, plus the real site."""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.auth import HasScope
from cases.webhooks import HasValidWebhookSignature


class IntakeProbe(APIView):
    throttle_scope = "intake"
    permission_classes = [HasScope.of("intake")]

    def post(self, request):
        return Response({"ok": True}, status=201)


class MoneyProbe(APIView):
    throttle_scope = "money"
    permission_classes = [AllowAny]

    def post(self, request):
        return Response({"ok": True})


class WebhookProbe(APIView):
    permission_classes = [HasScope.of("intake"), HasValidWebhookSignature]

    def post(self, request):
        return Response({"received": request.data})


urlpatterns = [
    path("probe/intake/", IntakeProbe.as_view()),
    path("probe/money/", MoneyProbe.as_view()),
    path("probe/webhook/", WebhookProbe.as_view()),
    path("", include("config.urls")),
]
