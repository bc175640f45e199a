from django.urls import path

from . import views

app_name = "escalations"
urlpatterns = [
    path("my/cases/", views.my_cases, name="my_cases"),
]
