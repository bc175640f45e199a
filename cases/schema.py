"""OpenAPI description of our API-key authentication (drf-spectacular extension, loaded in CasesConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "cases.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "rh_<prefix>_<secret>",
            "description": "A machine client's API key (also accepted in the X-Api-Key header). Keys carry scopes.",
        }
