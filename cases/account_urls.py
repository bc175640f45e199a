from django.urls import path

from . import account_views

app_name = "account"
urlpatterns = [
    path("two-step/setup/", account_views.otp_setup, name="otp_setup"),
    path("two-step/verify/", account_views.otp_verify, name="otp_verify"),
]
