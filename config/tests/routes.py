"""Every route of the site, generated from the URLconf (pages, admin and the REST API alike).

Shared by the CSRF test and the authorisation matrix, so a route added anywhere is covered without editing them.
"""

import re
from dataclasses import dataclass

from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.urls import Resolver404, get_resolver, resolve

SAMPLES = ("1", "cases", "x", "00000000-0000-0000-0000-000000000001")
PLACEHOLDER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "/agent/cases/<int:pk>/"
    path: str  # a concrete path that resolves to the same view, e.g. "/agent/cases/1/"
    view: object

    @property
    def view_class(self):
        return getattr(self.view, "cls", None) or getattr(self.view, "view_class", None)

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")


def _concrete(template: str, view) -> str | None:
    for sample in SAMPLES:
        path = PLACEHOLDER.sub(lambda m, s=sample: "1" if m.group("conv") == "int" else s, template)
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if match.func is view or getattr(match.func, "__wrapped__", None) is view or match.func == view:
            return path
    return None


def all_routes() -> list[Route]:
    routes, seen = [], set()
    for view, regex, _namespace, _name in extract_views_from_urlpatterns(get_resolver().url_patterns):
        template = simplify_regex(regex)
        if template in seen:
            continue
        seen.add(template)
        path = _concrete(template, view)
        routes.append(Route(template=template, path=path or "", view=view))
    return routes
