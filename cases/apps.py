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

        from django.db.models.signals import post_delete, post_save

        from cases.models import Department, Macro
        from cases.selectors import reference_cache_clear

        for model in (Department, Macro):  # the workspace's cached reference lists (cases.selectors)
            post_save.connect(reference_cache_clear, sender=model, dispatch_uid=f"refcache-save-{model.__name__}")
            post_delete.connect(reference_cache_clear, sender=model, dispatch_uid=f"refcache-del-{model.__name__}")
