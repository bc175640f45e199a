"""The authorisation matrix: every route of the URLconf (pages, admin, REST API) × every kind of principal × method.

No principal may get a 2xx that the POLICY below does not grant. A route without a POLICY entry fails the test, so
whoever adds a route must decide here who may use it. Objects in paths are real (a case of the department
"general" owned by ``customer``, its credit and refund, the customer's help conversation), so a missing check shows
up as a 2xx and not as a 404 for a made-up id.
"""

from decimal import Decimal

import pytest
from django.test import Client

from cases.models import GoodwillCredit, Refund, Role
from cases.services.api_keys import api_key_create
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from config.tests.routes import PLACEHOLDER, all_routes
from customers.tests.factories import CustomerFactory, OrderItemFactory
from escalations.models import Conversation

ANON = "anonymous"
CUSTOMER = "customer"
OTHER_CUSTOMER = "other_customer"
ASSOC_OTHER = "associate_other_department"
ASSOC = "associate"
SOCIAL = "social_care"
SUPERVISOR = "supervisor"
KEY = "api_key_with_scope"
NO_SCOPE_KEY = "api_key_without_scope"
PRINCIPALS = (ANON, CUSTOMER, OTHER_CUSTOMER, ASSOC_OTHER, ASSOC, SOCIAL, SUPERVISOR, KEY, NO_SCOPE_KEY)

NOBODY: frozenset = frozenset()
EVERYONE = frozenset(PRINCIPALS)
OWNER = frozenset({CUSTOMER})
CUSTOMERS = frozenset({CUSTOMER, OTHER_CUSTOMER})
HUMANS = frozenset({CUSTOMER, OTHER_CUSTOMER, ASSOC_OTHER, ASSOC, SOCIAL, SUPERVISOR})
STAFF = frozenset({ASSOC_OTHER, ASSOC, SOCIAL, SUPERVISOR})
CASE_STAFF = frozenset({ASSOC, SUPERVISOR})  # staff who can see the case (its department, or supervisors)
SUPERVISORS = frozenset({SUPERVISOR})
MACHINES = frozenset({KEY})
METHODS = ("GET", "POST")


def allow(get=NOBODY, post=NOBODY):
    return {"GET": frozenset(get), "POST": frozenset(post)}


ANON_LIKE = frozenset({ANON, KEY, NO_SCOPE_KEY})  # no session: an API key means nothing to pages

# Who may get a 2xx, per route and method. Pages that answer POST like GET (they ignore the method) list the same
# principals for both; the CSRF test covers the token on every POST.
POLICY: dict[str, dict[str, frozenset]] = {
    # site
    "/": allow(),  # redirects only
    "/healthz": allow(get=EVERYONE),
    "/login/": allow(get=ANON_LIKE, post=ANON_LIKE),  # signed-in users are redirected
    "/logout/": allow(),  # POST redirects
    "/signin/": allow(get=ANON_LIKE, post=ANON_LIKE),
    "/account/two-step/setup/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/account/two-step/verify/": allow(get=HUMANS, post=HUMANS),
    # back office
    "/agent/queues/": allow(get=STAFF, post=STAFF),
    "/agent/queues/take-next/": allow(post=STAFF),
    "/agent/presence/": allow(post=STAFF),
    "/agent/cases/<str:reference>/": allow(get=CASE_STAFF),
    "/agent/cases/<str:reference>/poll/": allow(get=CASE_STAFF),
    "/agent/cases/<str:reference>/reply/": allow(post=CASE_STAFF),
    "/agent/cases/<str:reference>/macro/": allow(get=CASE_STAFF, post=CASE_STAFF),
    "/agent/cases/<str:reference>/assignees/": allow(get=SUPERVISORS),
    "/agent/cases/<str:reference>/do/<slug:action>/": allow(post=CASE_STAFF),
    "/agent/heartbeat/": allow(get=STAFF, post=STAFF),  # read-only fragment that ignores the method
    "/agent/sla/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/refunds/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/refunds/<int:refund_id>/retry/": allow(post=SUPERVISORS),
    "/agent/console/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/credits/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/credits.csv": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/refunds/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/refunds.csv": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/approvals/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/approvals/<int:credit_id>/decide": allow(post=SUPERVISORS),
    "/agent/console/anomalies/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/limits/": allow(get=SUPERVISORS, post=SUPERVISORS),
    "/agent/console/agents/<int:agent_id>/role": allow(post=SUPERVISORS),
    "/agent/cases/<int:case_id>/credits/": allow(get=CASE_STAFF, post=CASE_STAFF),
    "/agent/cases/<int:case_id>/credits/<int:credit_id>/reverse": allow(post=SUPERVISORS),
    # the customer's pages
    "/my/cases/": allow(get=CUSTOMERS, post=CUSTOMERS),
    "/my/cases/<str:reference>/": allow(get=OWNER, post=OWNER),
    "/my/cases/<str:reference>/reply/": allow(post=OWNER),
    "/my/cases/<str:reference>/reopen/": allow(post=OWNER),
    "/my/messages/": allow(get=CUSTOMERS, post=CUSTOMERS),
    "/my/money/": allow(get=CUSTOMERS, post=CUSTOMERS),
    "/my/callback/": allow(get=CUSTOMERS, post=CUSTOMERS),
    "/my/claims/new/": allow(get=CUSTOMERS, post=CUSTOMERS),
    "/chat/<str:reference>/": allow(get=OWNER, post=OWNER),
    "/chat/<str:reference>/poll/": allow(get=OWNER),
    "/help/": allow(get=CUSTOMERS, post=CUSTOMERS),
    "/help/something-else/": allow(get=CUSTOMERS, post=CUSTOMERS),
    "/help/chat/<int:pk>/": allow(get=OWNER, post=OWNER),
    "/help/chat/<int:pk>/callback/": allow(post=OWNER),
    "/help/chat/<int:pk>/transfer/": allow(post=OWNER),
    "/help/callback/<str:reference>/": allow(get=OWNER, post=OWNER),
    "/help/report-phishing/": allow(get=CUSTOMERS, post=CUSTOMERS),
    # REST API: machines
    "/api/v1/carrier/scans/": allow(post=MACHINES),
    "/api/v1/intake/assistant-handover/": allow(post=MACHINES),
    "/api/v1/intake/callbacks/": allow(post=MACHINES),
    "/api/v1/intake/social-mentions/": allow(post=MACHINES),
    "/api/v1/intake/phone-calls/": allow(post=MACHINES),
    "/api/v1/intake/settlement-claims/": allow(post=MACHINES),
    "/api/v1/intake/fraud-reports/": allow(post=MACHINES),
    # REST API: staff apps (session)
    "/api/v1/cases/": allow(get=STAFF),
    "/api/v1/cases/take-next/": allow(post=STAFF),
    "/api/v1/cases/<int:case_id>/": allow(get=CASE_STAFF),
    "/api/v1/cases/<int:case_id>/reply/": allow(post=CASE_STAFF),
    "/api/v1/cases/<int:case_id>/transitions/": allow(post=CASE_STAFF),
    "/api/v1/cases/<int:case_id>/transfer/": allow(post=CASE_STAFF),
    "/api/v1/cases/<int:case_id>/escalate/": allow(post=CASE_STAFF),
    "/api/v1/cases/<int:case_id>/merge/": allow(post=CASE_STAFF),
    "/api/v1/cases/<int:case_id>/assign/": allow(post=SUPERVISORS),
    "/api/v1/cases/<int:case_id>/refunds/": allow(post=CASE_STAFF),
    "/api/v1/cases/<int:case_id>/credits/": allow(post=CASE_STAFF),
    "/api/v1/customers/<int:customer_id>/orders/": allow(get=CASE_STAFF),
    "/api/v1/customers/<int:customer_id>/shipments/": allow(get=CASE_STAFF),
    # schema and docs: any signed-in human or API key
    "/api/schema/": allow(get=HUMANS | MACHINES | {NO_SCOPE_KEY}),
    "/api/docs/": allow(get=HUMANS | MACHINES | {NO_SCOPE_KEY}),
}

ADMIN_PREFIX = "/admin/"
# The admin needs is_staff (Django's own gate); no principal above has it, so nobody gets a 2xx there but its
# sign-in page.
ADMIN_POLICY = allow()
ADMIN_PUBLIC = {"/admin/login/": allow(get=EVERYONE, post=EVERYONE)}


def _policy_for(template: str):
    if template in ADMIN_PUBLIC:
        return ADMIN_PUBLIC[template]
    if template.startswith(ADMIN_PREFIX):
        return ADMIN_POLICY
    return POLICY.get(template)


@pytest.fixture
def world(db):
    general = DepartmentFactory(slug="general", name="General support")
    pharmacy = DepartmentFactory(slug="pharmacy", name="Pharmacy")
    social_dept = DepartmentFactory(slug="social", name="Social care")
    customer = CustomerFactory(user__username="carol")
    other = CustomerFactory(user__username="oscar")
    users = {
        CUSTOMER: customer.user,
        OTHER_CUSTOMER: other.user,
        ASSOC_OTHER: AgentFactory(user__username="pat", departments=[pharmacy]).user,
        ASSOC: AgentFactory(user__username="alice", departments=[general]).user,
        SOCIAL: AgentFactory(user__username="sofia", role=Role.SOCIAL_CARE, departments=[social_dept]).user,
        SUPERVISOR: AgentFactory(user__username="sam", role=Role.SUPERVISOR, departments=[general]).user,
    }
    item = OrderItemFactory(order__customer=customer, unit_price=Decimal("40.00"))
    case = CaseFactory(department=general, customer=customer, order=item.order, order_item=item)
    credit = GoodwillCredit.objects.create(
        case=case,
        customer=customer,
        amount=Decimal("5.00"),
        reason_code=GoodwillCredit.Reason.LOYALTY,
        note="matrix",
        issued_by=users[ASSOC],
        issued_by_role=Role.ASSOCIATE,
        status=GoodwillCredit.Status.APPROVED,
    )
    refund = Refund.objects.create(
        idempotency_key="matrix-1",
        case=case,
        customer=customer,
        order_item=item,
        amount=Decimal("40.00"),
        reason="matrix",
        source=Refund.Source.AGENT,
        status=Refund.Status.FAILED,
    )
    conversation = Conversation.objects.create(customer=customer)
    _, with_scope = api_key_create(
        name="all scopes", scopes=["intake", "carrier", "cases:read", "cases:write", "refunds"]
    )
    _, without_scope = api_key_create(name="no scope", scopes=[])
    ids = {
        "case_id": case.pk,
        "customer_id": customer.pk,
        "credit_id": credit.pk,
        "refund_id": refund.pk,
        "agent_id": users[ASSOC].agent.pk,
        "reference": case.reference,
        "pk": conversation.pk,
    }
    return {"users": users, "keys": {KEY: with_scope, NO_SCOPE_KEY: without_scope}, "ids": ids}


def _client(world, principal) -> Client:
    client = Client()
    if principal in world["users"]:
        client.force_login(world["users"][principal])
    elif principal in world["keys"]:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world['keys'][principal]}"
    return client


def _path(template: str, ids: dict, fallback: str) -> str:
    def sub(match):
        return str(ids.get(match.group("name"), "1"))

    if template.startswith(ADMIN_PREFIX):
        return fallback
    return PLACEHOLDER.sub(sub, template)


def test_every_route_has_a_policy_entry():
    missing = [r.template for r in all_routes() if _policy_for(r.template) is None]
    assert missing == [], "add these routes to POLICY in config/tests/test_authz_matrix.py"
    stale = sorted(set(POLICY) - {r.template for r in all_routes()})
    assert stale == [], "these POLICY entries match no route any more"


@pytest.mark.django_db
def test_no_principal_gets_a_2xx_the_policy_does_not_grant(world):
    routes = all_routes()
    unexpected, granted_2xx = [], 0
    clients = {p: _client(world, p) for p in PRINCIPALS}
    for route in routes:
        policy = _policy_for(route.template)
        if policy is None:
            continue
        path = _path(route.template, world["ids"], route.path)
        for method in METHODS:
            if route.template.startswith(ADMIN_PREFIX) and method == "POST":
                continue  # the admin's POSTs sit behind the same is_staff gate as its GETs
            for principal in PRINCIPALS:
                client = clients[principal]
                response = client.generic(
                    method, path, data=b"{}" if method == "POST" else b"", content_type="application/json"
                )
                if 200 <= response.status_code < 300:
                    if principal in policy[method]:
                        granted_2xx += 1
                    else:
                        unexpected.append(f"{principal:<28} {method:<4} {route.template} -> {response.status_code}")
        if route.template == "/logout/":  # signing out ended the sessions: sign everyone in again
            clients = {p: _client(world, p) for p in PRINCIPALS}
    assert unexpected == [], "\n" + "\n".join(unexpected)
    assert granted_2xx > 20  # the principals are set up right: allowed access does work
