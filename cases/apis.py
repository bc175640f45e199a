"""REST endpoints of the back office for machine clients. Thin: validate input, call one service, serialise."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.auth import HasScope
from cases.services.refunds.returns import carrier_scan_intake
from customers.models import CarrierScan


class CarrierScanInSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=64)
    event_id = serializers.CharField(max_length=64, help_text="The carrier's own event id; redelivery is a no-op.")
    kind = serializers.ChoiceField(choices=CarrierScan.Kind.choices)
    occurred_at = serializers.DateTimeField()
    location = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True, default=None
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True, default=None
    )
    photo_ref = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError({"longitude": ["Send latitude and longitude together, or neither."]})
        return attrs


class CarrierScanOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tracking_number = serializers.CharField()
    event_id = serializers.CharField()
    kind = serializers.CharField()
    shipment_status = serializers.CharField()
    duplicate = serializers.BooleanField(help_text="True when this carrier event was already recorded.")
    return_refund_id = serializers.IntegerField(allow_null=True, help_text="Refund started by this first return scan.")


class CarrierScanIntakeApi(APIView):
    """The carrier feed posts one scan event per request."""

    permission_classes = [HasScope.of("carrier")]
    throttle_scope = "intake"  # config/throttles.py: 429 + Retry-After past RH_THROTTLE_INTAKE

    @extend_schema(
        operation_id="carrier_scan_create",
        summary="Record a carrier scan event",
        description=(
            "Idempotent on (tracking_number, event_id): a redelivered event returns 200 with duplicate=true and "
            "changes nothing. The first scan of a return parcel starts the return's refund."
        ),
        request=CarrierScanInSerializer,
        responses={
            201: CarrierScanOutSerializer,
            200: CarrierScanOutSerializer,
            400: OpenApiResponse(
                response=inline_serializer(
                    "CarrierScanError",
                    {"detail": serializers.CharField(), "errors": serializers.DictField(required=False)},
                ),
                description="Invalid input or unknown tracking number, with field errors.",
            ),
        },
        tags=["carrier"],
    )
    def post(self, request):
        incoming = CarrierScanInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        result, refund = carrier_scan_intake(
            tracking_number=data["tracking_number"],
            external_id=data["event_id"],
            kind=data["kind"],
            occurred_at=data["occurred_at"],
            location=data["location"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            photo_ref=data["photo_ref"],
            actor=request.user,
        )
        scan = result.scan
        body = CarrierScanOutSerializer(
            {
                "id": scan.pk,
                "tracking_number": data["tracking_number"],
                "event_id": scan.external_id,
                "kind": scan.kind,
                "shipment_status": scan.shipment.status,
                "duplicate": not result.created,
                "return_refund_id": getattr(refund, "pk", None),
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
