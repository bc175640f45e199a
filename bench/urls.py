"""The app's URLs plus ``/bench/hello/``: a Django view that renders nothing from the database, behind the same
middleware stack — the floor the workspace page and the queue partial are compared with."""

from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse("hello", content_type="text/plain")


urlpatterns = [
    path("bench/hello/", hello, name="bench_hello"),
    path("", include("config.urls")),
]
