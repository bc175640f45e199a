"""The customer's world: accounts, addresses, orders, shipments with carrier scans, returns, subscriptions.

This app knows nothing of cases. Money is ``Decimal`` with a currency column; constraints live in the database.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .validators import E164_REGEX, validate_e164

MONEY = {"max_digits": 12, "decimal_places": 2}
CURRENCY = {"max_length": 3, "default": "USD", "db_default": "USD"}


class Customer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(db_index=True)
    phone = models.CharField(
        max_length=16, blank=True, validators=[validate_e164], help_text="E.164, e.g. +14155550123"
    )
    social_handle = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="@handle on X/Facebook/Instagram"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(phone="") | Q(phone__regex=E164_REGEX), name="customer_phone_e164"),
        ]

    def __str__(self) -> str:
        return self.name


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    is_default = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "addresses"
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="address_geo_point_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line1}, {self.city} {self.postal_code}"


class PaymentMethod(models.Model):
    """Tokenised: the brand and last four digits only; the full number never reaches this system."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    token = models.CharField(max_length=64, unique=True)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(last4__regex=r"^[0-9]{4}$"), name="payment_method_last4_digits"),
            models.CheckConstraint(condition=Q(exp_month__gte=1, exp_month__lte=12), name="payment_method_exp_month"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", db_index=False)
    number = models.CharField(max_length=32, unique=True)
    placed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLACED)
    shipping_address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    total = models.DecimalField(**MONEY, default=Decimal("0.00"))
    currency = models.CharField(**CURRENCY)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["customer", "-placed_at"], name="order_customer_recent")]
        constraints = [models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative")]

    def __str__(self) -> str:
        return self.number


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(**MONEY)
    currency = models.CharField(**CURRENCY)
    department_hint = models.CharField(
        max_length=40, blank=True, help_text="Specialised department for this product, e.g. pharmacy or ereader."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_item_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_item_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ×{self.quantity}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class Shipment(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "To the customer"
        RETURN = "return", "Return parcel"

    class Status(models.TextChoices):
        LABEL_CREATED = "label_created", "Label created"
        IN_TRANSIT = "in_transit", "In transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERED = "delivered", "Delivered"
        DELAYED = "delayed", "Delayed"
        LOST = "lost", "Lost"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    items = models.ManyToManyField(OrderItem, blank=True, related_name="shipments")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    carrier = models.CharField(max_length=40)
    tracking_number = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.LABEL_CREATED)
    promised_by = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class CarrierScan(models.Model):
    """One event from the carrier feed. A Delivered scan carries its GPS point and a delivery-photo reference."""

    class Kind(models.TextChoices):
        LABEL_CREATED = "label_created", "Label created"
        PICKED_UP = "picked_up", "Picked up"
        IN_TRANSIT = "in_transit", "In transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERED = "delivered", "Delivered"
        EXCEPTION = "exception", "Exception / delay"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="scans", db_index=False)
    external_id = models.CharField(max_length=64, help_text="The carrier's event id; a redelivered event is ignored.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    location = models.CharField(max_length=120, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    photo_ref = models.CharField(max_length=200, blank=True, help_text="Reference to the delivery photo, if any.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shipment", "occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "external_id"], name="carrier_scan_unique_event"),
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="carrier_scan_geo_point_valid",
            ),
        ]
        indexes = [models.Index(fields=["shipment", "occurred_at"], name="scan_shipment_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class Return(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        LABEL_ISSUED = "label_issued", "Label issued"
        IN_TRANSIT = "in_transit", "In transit (first scan seen)"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="returns")
    shipment = models.OneToOneField(
        Shipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="return_request"
    )
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField(default=timezone.now)
    first_scan_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Return of {self.order_item}"


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.CharField(max_length=40, default="Prime")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    price = models.DecimalField(**MONEY)
    currency = models.CharField(**CURRENCY)
    started_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    payment_method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="subscription_price_not_negative"),
            models.CheckConstraint(
                condition=Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=F("started_at")),
                name="subscription_cancelled_after_start",
            ),
            models.CheckConstraint(
                condition=(Q(status="cancelled") & Q(cancelled_at__isnull=False))
                | (Q(status="active") & Q(cancelled_at__isnull=True)),
                name="subscription_status_matches_cancellation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} ({self.get_status_display()})"


class SubscriptionCharge(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="charges")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(**CURRENCY)
    charged_at = models.DateTimeField()
    external_id = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-charged_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="subscription_charge_positive")]
        indexes = [models.Index(fields=["charged_at"], name="charge_charged_at")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.charged_at:%Y-%m-%d}"
