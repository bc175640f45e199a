"""Admin for the customer's world. Carrier scans and charges are feeds (read-only); the rest is reference data."""

from django.contrib import admin

from config.admin_mixins import ReadOnlyModelAdmin, ReadOnlyTabularInline

from . import models


class AddressInline(admin.TabularInline):
    model = models.Address
    extra = 0
    fields = ["line1", "line2", "city", "region", "postal_code", "country", "latitude", "longitude", "is_default"]


class PaymentMethodInline(admin.TabularInline):
    model = models.PaymentMethod
    extra = 0
    fields = ["brand", "last4", "exp_month", "exp_year", "token"]
    readonly_fields = ["token"]


@admin.register(models.Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "social_handle", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["name", "email", "phone", "social_handle", "user__username"]
    list_filter = ["created_at"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    inlines = [AddressInline, PaymentMethodInline]
    list_per_page = 50


@admin.register(models.Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["__str__", "customer", "country", "latitude", "longitude", "is_default"]
    list_select_related = ["customer"]
    list_filter = ["country", "is_default"]
    search_fields = ["line1", "city", "postal_code", "customer__name", "customer__email"]
    raw_id_fields = ["customer"]
    list_per_page = 50


@admin.register(models.PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ["__str__", "customer", "exp_month", "exp_year"]
    list_select_related = ["customer"]
    list_filter = ["brand"]
    search_fields = ["last4", "customer__name", "customer__email"]
    raw_id_fields = ["customer"]
    readonly_fields = ["token"]
    list_per_page = 50


class OrderItemInline(admin.TabularInline):
    model = models.OrderItem
    extra = 0
    fields = ["sku", "title", "quantity", "unit_price", "currency", "department_hint"]


class ShipmentInline(admin.TabularInline):
    model = models.Shipment
    extra = 0
    fields = ["direction", "carrier", "tracking_number", "status", "promised_by", "delivered_at"]
    show_change_link = True


@admin.register(models.Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "status", "total", "currency", "placed_at"]
    list_select_related = ["customer"]
    list_filter = ["status", "currency", "placed_at"]
    search_fields = ["number", "customer__name", "customer__email"]
    date_hierarchy = "placed_at"
    raw_id_fields = ["customer", "shipping_address"]
    inlines = [OrderItemInline, ShipmentInline]
    list_per_page = 50


@admin.register(models.OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ["title", "sku", "order", "quantity", "unit_price", "currency", "department_hint"]
    list_select_related = ["order"]
    list_filter = ["department_hint", "currency"]
    search_fields = ["sku", "title", "order__number"]
    raw_id_fields = ["order"]
    list_per_page = 50


class CarrierScanInline(ReadOnlyTabularInline):
    model = models.CarrierScan
    fields = ["occurred_at", "kind", "location", "latitude", "longitude", "photo_ref", "external_id"]
    readonly_fields = fields


@admin.register(models.Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ["tracking_number", "carrier", "order", "direction", "status", "promised_by", "delivered_at"]
    list_select_related = ["order"]
    list_filter = ["status", "direction", "carrier"]
    search_fields = ["tracking_number", "order__number", "order__customer__name"]
    raw_id_fields = ["order"]
    filter_horizontal = ["items"]
    inlines = [CarrierScanInline]
    list_per_page = 50


@admin.register(models.CarrierScan)
class CarrierScanAdmin(ReadOnlyModelAdmin):
    """The carrier feed's events. Evidence for refund decisions, so nobody edits them by hand."""

    list_display = ["occurred_at", "kind", "shipment", "location", "has_photo", "latitude", "longitude"]
    list_select_related = ["shipment"]
    list_filter = ["kind", "shipment__carrier"]
    search_fields = ["shipment__tracking_number", "external_id", "location"]
    date_hierarchy = "occurred_at"

    @admin.display(boolean=True, description="Photo")
    def has_photo(self, obj):
        return bool(obj.photo_ref)


@admin.register(models.Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ["order_item", "order_number", "status", "reason", "created_at", "first_scan_at"]
    list_select_related = ["order_item__order", "shipment"]
    list_filter = ["status"]
    search_fields = ["order_item__order__number", "order_item__sku", "reason"]
    raw_id_fields = ["order_item", "shipment"]
    list_per_page = 50

    @admin.display(description="Order", ordering="order_item__order__number")
    def order_number(self, obj):
        return obj.order_item.order.number


class SubscriptionChargeInline(ReadOnlyTabularInline):
    model = models.SubscriptionCharge
    fields = ["charged_at", "amount", "currency", "external_id"]
    readonly_fields = fields


@admin.register(models.Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["customer", "plan", "status", "price", "currency", "started_at", "cancelled_at"]
    list_select_related = ["customer"]
    list_filter = ["plan", "status"]
    search_fields = ["customer__name", "customer__email"]
    raw_id_fields = ["customer", "payment_method"]
    inlines = [SubscriptionChargeInline]
    list_per_page = 50


@admin.register(models.SubscriptionCharge)
class SubscriptionChargeAdmin(ReadOnlyModelAdmin):
    """Charges come from the payments service; refunds of them go through the refund ledger."""

    list_display = ["charged_at", "amount", "currency", "subscription", "customer_name", "after_cancellation"]
    list_select_related = ["subscription__customer"]
    list_filter = ["currency", "subscription__plan", "subscription__status"]
    search_fields = ["external_id", "subscription__customer__name", "subscription__customer__email"]
    date_hierarchy = "charged_at"

    @admin.display(description="Customer", ordering="subscription__customer__name")
    def customer_name(self, obj):
        return obj.subscription.customer.name

    @admin.display(boolean=True, description="After cancellation")
    def after_cancellation(self, obj):
        cancelled = obj.subscription.cancelled_at
        return cancelled is not None and obj.charged_at > cancelled
