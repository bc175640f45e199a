from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases (back office)"

    def ready(self) -> None:
        from cases import (
            schema,  # noqa: F401  (registers the OpenAPI extension for API keys)
            sessions,
        )

        sessions.connect_signals()
