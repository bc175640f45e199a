"""Site-wide behaviour: health check for load balancers, and where each kind of user lands."""

import pytest
from django.test import override_settings

from cases.models import Role
from cases.tests.factories import AgentFactory, DepartmentFactory


@pytest.mark.django_db
def test_healthz_is_200_when_database_and_broker_answer(client):
    # Given the test database and the in-memory broker / When a load balancer asks
    response = client.get("/healthz")
    # Then it is healthy and says what it checked
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client):
    # Given a broker URL nobody listens on
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        # When a load balancer asks
        response = client.get("/healthz")
    # Then the node is reported unavailable, naming the broker
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_checks_the_embedded_filesystem_broker_folder(client, tmp_path):
    # Given the embedded default's filesystem broker, first with its folder, then without
    present = {"data_folder_in": str(tmp_path)}
    missing = {"data_folder_in": str(tmp_path / "gone")}
    with override_settings(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_TRANSPORT_OPTIONS=present):
        ok = client.get("/healthz")
    with override_settings(CELERY_BROKER_URL="filesystem://", CELERY_BROKER_TRANSPORT_OPTIONS=missing):
        broken = client.get("/healthz")
    # Then the folder decides
    assert ok.status_code == 200 and ok.json()["checks"]["broker"]["transport"] == "filesystem"
    assert broken.status_code == 503


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_anonymous_visitors_land_on_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.ASSOCIATE, Role.SOCIAL_CARE, Role.SUPERVISOR])
def test_staff_land_on_the_queue_overview(client, role):
    user = AgentFactory(role=role, departments=[DepartmentFactory(slug="general")]).user
    client.force_login(user)
    response = client.get("/", follow=True)
    assert response.redirect_chain == [("/agent/queues/", 302)]
    assert b"Queue overview" in response.content


@pytest.mark.django_db
def test_customers_land_on_my_cases(client, customer):
    client.force_login(customer.user)
    response = client.get("/", follow=True)
    assert response.redirect_chain == [("/my/cases/", 302)]
    assert b"My cases" in response.content


@pytest.mark.django_db
def test_login_page_signs_a_customer_in_and_sends_them_home(client, customer):
    response = client.post("/login/", {"username": "carol", "password": "pass-word-123"}, follow=True)
    assert response.redirect_chain[-1] == ("/my/cases/", 302)


@pytest.mark.django_db
def test_customers_cannot_open_the_queue_overview(client, customer):
    client.force_login(customer.user)
    assert client.get("/agent/queues/").status_code == 403


@pytest.mark.django_db
def test_the_staff_footer_shows_the_worker_heartbeat(client, supervisor, customer):
    # Given a staff page, whose footer loads the heartbeat with htmx (no query on the page itself)
    from cases.tasks import heartbeat

    client.force_login(supervisor)
    assert 'hx-get="/agent/heartbeat/"' in client.get("/agent/refunds/").content.decode()
    before = client.get("/agent/heartbeat/").content.decode()
    # When the Celery task has run twice (as the worker does when beat schedules it)
    heartbeat()
    heartbeat()
    after = client.get("/agent/heartbeat/").content.decode()
    # Then the fragment says so; customers do not get it
    assert "No worker heartbeat yet" in before
    assert "Worker heartbeat" in after and "2 beats" in after and "<html" not in after
    client.force_login(customer.user)
    assert client.get("/agent/heartbeat/").status_code == 403
