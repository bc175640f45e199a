from django.urls import path

from cases import api_v1, apis

urlpatterns: list = [
    path("carrier/scans/", apis.CarrierScanIntakeApi.as_view(), name="carrier-scan-create"),
    # Staff apps (session): cases, customer lookups, money with Idempotency-Key (cases/api_v1.py).
    path("cases/", api_v1.CaseListApi.as_view(), name="api-cases"),
    path("cases/take-next/", api_v1.CaseTakeNextApi.as_view(), name="api-case-take-next"),
    path("cases/<int:case_id>/", api_v1.CaseDetailApi.as_view(), name="api-case"),
    path("cases/<int:case_id>/reply/", api_v1.CaseReplyApi.as_view(), name="api-case-reply"),
    path("cases/<int:case_id>/transitions/", api_v1.CaseTransitionApi.as_view(), name="api-case-transition"),
    path("cases/<int:case_id>/transfer/", api_v1.CaseTransferApi.as_view(), name="api-case-transfer"),
    path("cases/<int:case_id>/escalate/", api_v1.CaseEscalateApi.as_view(), name="api-case-escalate"),
    path("cases/<int:case_id>/merge/", api_v1.CaseMergeApi.as_view(), name="api-case-merge"),
    path("cases/<int:case_id>/assign/", api_v1.CaseAssignApi.as_view(), name="api-case-assign"),
    path("cases/<int:case_id>/refunds/", api_v1.CaseRefundApi.as_view(), name="api-case-refunds"),
    path("cases/<int:case_id>/credits/", api_v1.CaseCreditApi.as_view(), name="api-case-credits"),
    path("customers/<int:customer_id>/orders/", api_v1.CustomerOrdersApi.as_view(), name="api-customer-orders"),
    path(
        "customers/<int:customer_id>/shipments/", api_v1.CustomerShipmentsApi.as_view(), name="api-customer-shipments"
    ),
]
