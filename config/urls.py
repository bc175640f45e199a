from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

admin.site.site_header = "Resolution Hub administration"
admin.site.site_title = "Resolution Hub admin"
admin.site.index_title = "Configuration and records"
admin.site.enable_nav_sidebar = False  # the list pages need the width

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("cases.account_urls")),
    path("admin/", admin.site.urls),
    path("agent/", include("cases.urls")),
    path("", include("escalations.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init code as a separate script, so the CSP needs no inline script
    # (Swagger UI does set inline styles, allowed on this page only).
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

handler404 = "config.views.not_found"
