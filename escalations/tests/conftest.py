from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.auth import api_key_create
from cases.tests.factories import DepartmentFactory
from customers.models import Subscription
from customers.tests.factories import SubscriptionChargeFactory, SubscriptionFactory


@pytest.fixture
def departments(db, department):
    """The demo departments (cases/demo.py slugs)."""
    out = {"general": department}
    for slug in ("fraud", "social", "pharmacy", "ereader", "claims"):
        out[slug] = DepartmentFactory(slug=slug, is_24_7=slug in ("fraud", "social"))
    return out


@pytest.fixture
def intake_client(db, api_client):
    key, raw = api_key_create(name="assistant", scopes=["intake"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api_client.key = key
    return api_client


@pytest.fixture
def cancelled_prime(customer):
    """Prime cancelled last month, then charged at the new rate anyway (the seed's use case)."""
    now = timezone.now()
    sub = SubscriptionFactory(
        customer=customer,
        status=Subscription.Status.CANCELLED,
        started_at=now - timedelta(days=400),
        cancelled_at=now - timedelta(days=35),
    )
    SubscriptionChargeFactory(subscription=sub, amount=Decimal("14.99"), charged_at=now - timedelta(days=40))
    late = SubscriptionChargeFactory(subscription=sub, amount=Decimal("16.99"), charged_at=now - timedelta(days=5))
    return late
