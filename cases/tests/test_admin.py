"""The admin is usable by a supervisor: every model listed, ledgers read-only, list pages without N+1."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from cases.models import AuditLog, CaseEvent, CreditLimit, GoodwillCredit, Refund, Role, SandboxPayout
from cases.services.audit import audit_verify
from cases.services.cases import case_create
from cases.tests.factories import AgentFactory, CaseFactory, DepartmentFactory
from customers.tests.factories import CarrierScanFactory, CustomerFactory, OrderFactory, OrderItemFactory

APPS = ("customers", "cases", "escalations")
LEDGERS = [AuditLog, CaseEvent, Refund, GoodwillCredit, SandboxPayout]


@pytest.fixture
def staff_supervisor(db, department):
    """A supervisor as `seed_demo` makes one: staff flag for the admin, rights from the supervisor group."""
    user = AgentFactory(user__username="sam", role=Role.SUPERVISOR, departments=[department]).user
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="supervisor"))
    return user


@pytest.fixture
def sup_client(client, staff_supervisor):
    client.force_login(staff_supervisor)
    return client


def _changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_model_of_the_three_apps_is_in_the_admin():
    # Given the three apps' models / Then each one has a ModelAdmin
    missing = [
        m._meta.label for app in APPS for m in apps.get_app_config(app).get_models() if not admin.site.is_registered(m)
    ]
    assert missing == []


@pytest.mark.django_db
def test_supervisor_opens_every_changelist_and_search_works(sup_client):
    # Given one case with its timeline so the lists are not empty
    customer = CustomerFactory()
    case_create(
        customer=customer,
        channel="chat",
        department=DepartmentFactory(slug="general"),
        subject="Where is my parcel?",
        first_message="It says delivered",
    )
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            # When the supervisor opens the list, with a search where the admin has one
            response = sup_client.get(_changelist(model), {"q": "parcel"})
            # Then it renders
            assert response.status_code == 200, model._meta.label


@pytest.mark.django_db
@pytest.mark.parametrize("model", LEDGERS, ids=lambda m: m.__name__)
def test_ledger_audit_and_timeline_rows_cannot_be_added_changed_or_deleted(sup_client, model):
    # Given a supervisor (not a superuser) / When they try to add a row in the admin / Then it is refused
    assert sup_client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")).status_code == 403
    model_admin = admin.site._registry[model]
    request = type("Request", (), {"user": None})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.django_db
def test_a_refund_change_form_is_view_only_and_a_post_changes_nothing(sup_client):
    # Given an issued refund in the ledger
    customer = CustomerFactory()
    item = OrderItemFactory(order=OrderFactory(customer=customer), unit_price=Decimal("40.00"))
    refund = Refund.objects.create(
        idempotency_key="k-1",
        customer=customer,
        order_item=item,
        amount=Decimal("40.00"),
        source=Refund.Source.AGENT,
        reason="damaged",
        status=Refund.Status.ISSUED,
    )
    url = reverse("admin:cases_refund_change", args=[refund.pk])
    # When the supervisor opens it and tries to post a bigger amount
    page = sup_client.get(url)
    post = sup_client.post(url, {"amount": "4000.00", "status": "requested"})
    delete = sup_client.post(reverse("admin:cases_refund_delete", args=[refund.pk]), {"post": "yes"})
    # Then the page has no save button, the post and the delete are refused, the row is unchanged
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert post.status_code == 403
    assert delete.status_code == 403
    refund.refresh_from_db()
    assert (refund.amount, refund.status) == (Decimal("40.00"), Refund.Status.ISSUED)


@pytest.mark.django_db
def test_changing_a_credit_limit_in_the_admin_goes_through_the_audited_service(sup_client):
    # Given an associate credit limit
    limit = CreditLimit.objects.update_or_create(
        role=Role.ASSOCIATE, defaults={"per_credit": Decimal("25.00"), "per_day": Decimal("100.00")}
    )[0]
    before = AuditLog.objects.count()
    # When a supervisor raises it in the admin
    response = sup_client.post(
        reverse("admin:cases_creditlimit_change", args=[limit.pk]), {"per_credit": "50.00", "per_day": "100.00"}
    )
    # Then it is saved and an audit entry chained to the log records who changed what
    assert response.status_code == 302
    limit.refresh_from_db()
    assert limit.per_credit == Decimal("50.00")
    entry = AuditLog.objects.get(action="credit_limit.changed")
    assert entry.actor_label == "sam"
    assert entry.data["old"]["per_credit"] == "25.00" and entry.data["new"]["per_credit"] == "50.00"
    assert AuditLog.objects.count() == before + 1
    assert audit_verify()[1] is None


@pytest.mark.django_db
def test_a_daily_limit_below_the_per_credit_limit_is_a_form_error_not_a_500(sup_client):
    limit = CreditLimit.objects.update_or_create(
        role=Role.ASSOCIATE, defaults={"per_credit": Decimal("25.00"), "per_day": Decimal("100.00")}
    )[0]
    response = sup_client.post(
        reverse("admin:cases_creditlimit_change", args=[limit.pk]), {"per_credit": "500.00", "per_day": "100.00"}
    )
    assert response.status_code == 200 and b"errornote" in response.content
    limit.refresh_from_db()
    assert limit.per_credit == Decimal("25.00")


@pytest.mark.django_db
def test_a_role_change_in_the_admin_moves_the_group_and_is_audited(sup_client, department):
    # Given an associate
    profile = AgentFactory(user__username="al", departments=[department])
    profile.user.groups.add(Group.objects.get(name="associate"))
    # When a supervisor makes them social care in the admin
    response = sup_client.post(
        reverse("admin:cases_agentprofile_change", args=[profile.pk]),
        {
            "user": profile.user.pk,
            "role": Role.SOCIAL_CARE,
            "departments": [department.pk],
            "capacity_chat": 3,
            "capacity_call": 1,
            "capacity_social": 5,
            "capacity_async": 10,
        },
    )
    # Then the role, the group and the audit log agree
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.role == Role.SOCIAL_CARE
    assert list(profile.user.groups.values_list("name", flat=True)) == ["social_care"]
    entry = AuditLog.objects.get(action="agent_role.changed")
    assert entry.data["old"] == "associate" and entry.data["new"] == "social_care"


def _make_cases(n):
    dept = DepartmentFactory(slug="general")
    for i in range(n):
        CaseFactory(department=dept, subject=f"Case {i}")


def _make_refunds(n):
    for i in range(n):
        customer = CustomerFactory()
        item = OrderItemFactory(order=OrderFactory(customer=customer))
        Refund.objects.create(
            idempotency_key=f"k-{i}",
            customer=customer,
            order_item=item,
            amount=Decimal("10.00"),
            source=Refund.Source.AGENT,
            reason="test",
        )


def _make_credits(n):
    issuer = AgentFactory(user__username="issuer").user
    for i in range(n):
        GoodwillCredit.objects.create(
            customer=CustomerFactory(),
            amount=Decimal("5.00"),
            reason_code="loyalty",
            note=f"credit {i}",
            issued_by=issuer,
            issued_by_role=Role.ASSOCIATE,
        )


def _make_orders(n):
    for _ in range(n):
        OrderFactory()


def _make_scans(n):
    for _ in range(n):
        CarrierScanFactory()


def _make_events(n):
    dept = DepartmentFactory(slug="general")
    customer = CustomerFactory()
    for i in range(n):
        case_create(customer=customer, channel="chat", department=dept, subject=f"case {i}")


# Query counts of a changelist do not depend on the number of rows: same figure at 10 and at 50 rows
# (session, user, permissions, count, filter choices, rows with their select_related; no per-row query).
CHANGELISTS = {
    "cases.Case": (_make_cases, 9),
    "cases.Refund": (_make_refunds, 10),
    "cases.GoodwillCredit": (_make_credits, 9),
    "cases.CaseEvent": (_make_events, 6),
    "customers.Order": (_make_orders, 10),
    "customers.CarrierScan": (_make_scans, 10),
}


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [10, 50])
@pytest.mark.parametrize("label", list(CHANGELISTS))
def test_changelist_query_count_does_not_grow_with_rows(sup_client, django_assert_num_queries, label, rows):
    # Given `rows` rows of the model
    make, expected = CHANGELISTS[label]
    make(rows)
    model = apps.get_model(label)
    assert model.objects.count() >= rows
    # When the supervisor opens its list page / Then the number of queries is fixed
    with django_assert_num_queries(expected):
        response = sup_client.get(_changelist(model))
    assert response.status_code == 200
