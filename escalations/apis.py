"""Channel intake API (/api/v1/intake/...): machine clients with an API key holding the ``intake`` scope.

Each endpoint parses input, calls one intake service and renders the result. Redelivery of the same event id
(``event_id`` in the body or an ``Idempotency-Key`` header) returns the first delivery's case with 200 and
``replayed: true``. If a signed-webhook header ``X-RH-Signature: sha256=<hex>`` is sent it must be the HMAC-SHA256
of the raw body under the key's webhook secret; ``RH_INTAKE_REQUIRE_SIGNATURE`` makes it mandatory.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import webhooks
from cases.auth import ApiKeyAuthentication, HasScope
from customers.models import Customer
from escalations.models import SocialPost
from escalations.services import intake

MAX_TEXT = settings.RH["MAX_MESSAGE_LENGTH"]


class IntakeResponseSerializer(serializers.Serializer):
    case = serializers.CharField(help_text="Case reference, e.g. CS-2026-000123.")
    case_id = serializers.IntegerField()
    status = serializers.CharField()
    department = serializers.CharField()
    priority = serializers.IntegerField()
    channel = serializers.CharField()
    replayed = serializers.BooleanField(help_text="True when this event id was already received.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class EventIdMixin(serializers.Serializer):
    event_id = serializers.CharField(
        max_length=120, required=False, help_text="Provider event id; or send an Idempotency-Key header."
    )


class CustomerField(serializers.PrimaryKeyRelatedField):
    def __init__(self, **kwargs):
        super().__init__(queryset=Customer.objects.all(), **kwargs)


class TranscriptLineSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["customer", "assistant"])
    text = serializers.CharField(max_length=MAX_TEXT)


class HandoverSerializer(EventIdMixin):
    customer_id = CustomerField()
    transcript = TranscriptLineSerializer(many=True, allow_empty=False, max_length=intake.MAX_TRANSCRIPT_LINES)


class CallbackSerializer(EventIdMixin):
    customer_id = CustomerField()
    phone = serializers.CharField(max_length=32, help_text="E.164, e.g. +14155550123.")
    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class SocialSerializer(EventIdMixin):
    platform = serializers.ChoiceField(choices=SocialPost.Platform.choices)
    post_id = serializers.CharField(max_length=64)
    handle = serializers.CharField(max_length=100)
    text = serializers.CharField(max_length=MAX_TEXT)


class PhoneCallSerializer(EventIdMixin):
    customer_id = CustomerField(required=False)
    caller = serializers.CharField(max_length=32, required=False, help_text="Caller number (E.164) if no customer_id.")
    summary = serializers.CharField(max_length=MAX_TEXT)

    def validate(self, attrs):
        if attrs.get("customer_id") is None:
            caller = attrs.get("caller") or ""
            if not caller:
                raise serializers.ValidationError({"customer_id": ["Send customer_id or caller."]})
            phone = intake.phone_e164(caller, field="caller")
            customer = Customer.objects.filter(phone=phone).first()
            if customer is None:
                raise serializers.ValidationError({"caller": ["No customer with this phone number."]})
            attrs["customer_id"] = customer
        return attrs


class ClaimSerializer(EventIdMixin):
    customer_id = CustomerField(required=False)
    from_email = serializers.EmailField(required=False, help_text="Sender address if no customer_id.")
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=MAX_TEXT)
    claim_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("customer_id") is None:
            email = attrs.get("from_email")
            if not email:
                raise serializers.ValidationError({"customer_id": ["Send customer_id or from_email."]})
            customer = Customer.objects.filter(email__iexact=email).order_by("pk").first()
            if customer is None:
                raise serializers.ValidationError({"from_email": ["No customer with this e-mail address."]})
            attrs["customer_id"] = customer
        return attrs


class FraudSerializer(EventIdMixin):
    customer_id = CustomerField()
    text = serializers.CharField(max_length=MAX_TEXT)
    url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False, description="Used when event_id is absent."
)
SIGNATURE_HEADER = OpenApiParameter(
    "X-RH-Signature",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + raw body> (or sha256=<hex HMAC of the raw body>) with the key\'s webhook secret; docs/API.md.',
)


class IntakeView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope.of("intake")]
    throttle_scope = "intake"  # config/throttles.py: 429 + Retry-After past RH_THROTTLE_INTAKE
    serializer_class: type[serializers.Serializer]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._check_signature(request)

    def _check_signature(self, request) -> None:
        """Signed pushes (cases/webhooks.py, docs/API.md): timestamped ``t=..,v1=..`` or ``sha256=<hex>`` (intake is
        idempotent on event ids, so the untimed form is accepted here)."""
        header = request.headers.get(webhooks.HEADER, "")
        required = getattr(settings, "RH_INTAKE_REQUIRE_SIGNATURE", False)
        if not header and not required:
            return
        secret = getattr(request.auth, "webhook_secret", "") or ""
        webhooks.webhook_signature_verify(secret=secret, body=request.body, header=header, allow_untimed=True)

    def event_id(self, request, data) -> str:
        return data.get("event_id") or request.headers.get("Idempotency-Key", "")

    def post(self, request):
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = self.perform(request, serializer.validated_data)
        case = result.case
        body = {
            "case": case.reference,
            "case_id": case.pk,
            "status": case.status,
            "department": case.department.slug,
            "priority": case.priority,
            "channel": case.channel,
            "replayed": result.replayed,
        }
        return Response(body, status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)

    def perform(self, request, data) -> intake.IntakeResult:  # pragma: no cover - abstract
        raise NotImplementedError


def _schema(serializer, summary: str):
    return extend_schema(
        request=serializer,
        parameters=[IDEMPOTENCY_HEADER, SIGNATURE_HEADER],
        responses={
            201: OpenApiResponse(IntakeResponseSerializer, description="Case created."),
            200: OpenApiResponse(IntakeResponseSerializer, description="Redelivery: the first delivery's case."),
            400: OpenApiResponse(ErrorSerializer, description="Field errors."),
            401: OpenApiResponse(ErrorSerializer, description="Missing/invalid key or bad signature."),
            403: OpenApiResponse(ErrorSerializer, description="Key lacks the intake scope."),
        },
        summary=summary,
        tags=["intake"],
    )


class AssistantHandoverApi(IntakeView):
    serializer_class = HandoverSerializer

    @_schema(HandoverSerializer, "Assistant hand-over: transcript + customer → live-chat case")
    def post(self, request):
        return super().post(request)

    def perform(self, request, data):
        return intake.intake_assistant_handover(
            event_id=self.event_id(request, data), customer=data["customer_id"], transcript=data["transcript"]
        )


class CallbackApi(IntakeView):
    serializer_class = CallbackSerializer

    @_schema(CallbackSerializer, "Call Me Now request (E.164 phone)")
    def post(self, request):
        return super().post(request)

    def perform(self, request, data):
        return intake.intake_callback(
            event_id=self.event_id(request, data),
            customer=data["customer_id"],
            phone=data["phone"],
            reason=data["reason"],
        )


class SocialMentionApi(IntakeView):
    serializer_class = SocialSerializer

    @_schema(SocialSerializer, "Social mention from X / Facebook / Instagram")
    def post(self, request):
        return super().post(request)

    def perform(self, request, data):
        return intake.intake_social(
            event_id=self.event_id(request, data),
            platform=data["platform"],
            post_id=data["post_id"],
            handle=data["handle"],
            text=data["text"],
        )


class PhoneCallApi(IntakeView):
    serializer_class = PhoneCallSerializer

    @_schema(PhoneCallSerializer, "Inbound support-line call from the telephony platform")
    def post(self, request):
        return super().post(request)

    def perform(self, request, data):
        return intake.intake_phone_call(
            event_id=self.event_id(request, data), customer=data["customer_id"], summary=data["summary"]
        )


class SettlementClaimApi(IntakeView):
    serializer_class = ClaimSerializer

    @_schema(ClaimSerializer, "Settlement claim by e-mail or form")
    def post(self, request):
        return super().post(request)

    def perform(self, request, data):
        return intake.intake_settlement_claim(
            event_id=self.event_id(request, data),
            customer=data["customer_id"],
            subject=data["subject"],
            body=data["body"],
            claim_number=data["claim_number"],
        )


class FraudReportApi(IntakeView):
    serializer_class = FraudSerializer

    @_schema(FraudSerializer, "Fraud / phishing / suspicious-activity report (24/7, urgent)")
    def post(self, request):
        return super().post(request)

    def perform(self, request, data):
        return intake.intake_fraud_report(
            event_id=self.event_id(request, data), customer=data["customer_id"], text=data["text"], url=data["url"]
        )
