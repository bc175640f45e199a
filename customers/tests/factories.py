from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from customers import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pass-word-123")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Customer

    user = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda c: c.user.get_full_name() if c.user else "Guest")
    email = factory.LazyAttribute(lambda c: c.user.email if c.user else "guest@example.com")
    phone = "+14155550123"
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=400))


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Address

    customer = factory.SubFactory(CustomerFactory)
    line1 = "1 Main St"
    city = "Seattle"
    region = "WA"
    postal_code = "98101"
    latitude = Decimal("47.606200")
    longitude = Decimal("-122.332100")
    is_default = True


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Order

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"112-{n:07d}-0000001")
    shipping_address = factory.SubFactory(AddressFactory, customer=factory.SelfAttribute("..customer"))
    total = Decimal("25.00")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.OrderItem

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    title = "USB-C cable"
    unit_price = Decimal("25.00")


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Shipment

    order = factory.SubFactory(OrderFactory)
    carrier = "UPS"
    tracking_number = factory.Sequence(lambda n: f"1Z{n:016d}")


class CarrierScanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CarrierScan

    shipment = factory.SubFactory(ShipmentFactory)
    external_id = factory.Sequence(lambda n: f"scan-{n}")
    kind = models.CarrierScan.Kind.IN_TRANSIT
    occurred_at = factory.LazyFunction(timezone.now)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Subscription

    customer = factory.SubFactory(CustomerFactory)
    price = Decimal("14.99")
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=365))


class SubscriptionChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SubscriptionCharge

    subscription = factory.SubFactory(SubscriptionFactory)
    amount = Decimal("14.99")
    charged_at = factory.LazyFunction(timezone.now)
    external_id = factory.Sequence(lambda n: f"ch_{n:08d}")
