from django.urls import path

from cases import apis

urlpatterns: list = [
    path("carrier/scans/", apis.CarrierScanIntakeApi.as_view(), name="carrier-scan-create"),
]
