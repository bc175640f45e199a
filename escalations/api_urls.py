from django.urls import path

from . import apis

urlpatterns = [
    path("intake/assistant-handover/", apis.AssistantHandoverApi.as_view(), name="intake-assistant-handover"),
    path("intake/callbacks/", apis.CallbackApi.as_view(), name="intake-callback"),
    path("intake/social-mentions/", apis.SocialMentionApi.as_view(), name="intake-social"),
    path("intake/phone-calls/", apis.PhoneCallApi.as_view(), name="intake-phone-call"),
    path("intake/settlement-claims/", apis.SettlementClaimApi.as_view(), name="intake-settlement-claim"),
    path("intake/fraud-reports/", apis.FraudReportApi.as_view(), name="intake-fraud-report"),
]
