"""REST API for staff apps: cases, the customer's orders and shipments, refunds and goodwill credits (docs/API.md).

Thin: parse, call one selector or service, serialise. Every case goes through ``case_get_for_agent`` /
``cases_visible_to_agent`` (the same gate as the pages). Money endpoints need an ``Idempotency-Key`` header.
Humans only: an API key is refused here (403) — goodwill credits are never issued by a machine.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors
from cases.models import Case, Department, GoodwillCredit, Message, Refund
from cases.services import idempotency
from cases.services.credits import credit_grant
from cases.services.messages import message_post
from cases.services.queue import case_assign, case_release, case_take_next
from cases.services.refunds.ledger import refund_request
from cases.services.workspace import (
    case_escalate,
    case_merge,
    case_reopen,
    case_resolve,
    case_transfer,
    case_wait_on_customer,
)
from customers.models import OrderItem, SubscriptionCharge

ERROR = inline_serializer(
    "ApiError",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(required=False),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    },
)
ERRORS = {
    400: OpenApiResponse(ERROR, description="Invalid input, with field errors."),
    403: OpenApiResponse(ERROR, description="Not staff, or not allowed by the rules."),
    404: OpenApiResponse(ERROR, description="No such case visible to you."),
    409: OpenApiResponse(ERROR, description="Conflict with the case's state."),
}
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per intended operation (1–255 chars). Replays return the first response; reuse with "
    "different parameters is refused with 422.",
)


class IsStaff(BasePermission):
    """Signed-in associates, social care and supervisors (session). API keys and customers are refused."""

    def has_permission(self, request, view):
        from cases.models import ApiKey

        if isinstance(request.auth, ApiKey):
            return False
        return selectors.agent_profile_of(request.user) is not None and request.user.is_active


class StaffApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsStaff]


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


# --- serializers ------------------------------------------------------------------------------------------------


class CaseSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "priority",
            "channel",
            "intent",
            "department",
            "assignee",
            "customer_id",
            "value_at_stake",
            "currency",
            "created_at",
            "queued_at",
            "sla_due_at",
            "first_response_at",
            "resolved_at",
        ]
        read_only_fields = fields

    def get_assignee(self, case) -> str | None:
        return case.assignee.get_username() if case.assignee_id else None


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "kind", "body", "author", "created_at"]
        read_only_fields = fields

    def get_author(self, message) -> str | None:
        return message.author.get_username() if message.author_id else None


class CaseDetailSerializer(CaseSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    escalation_reasons = serializers.JSONField(read_only=True)
    messages = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "customer_name", "escalation_reasons", "messages"]
        read_only_fields = fields

    def get_messages(self, case) -> list[dict]:
        recent = case.messages.select_related("author").order_by("-created_at", "-id")[:50]
        return MessageSerializer(reversed(list(recent)), many=True).data


class OrderItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["id", "sku", "title", "quantity", "unit_price", "currency"]
        read_only_fields = fields


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    placed_at = serializers.DateTimeField()
    status = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    items = OrderItemSerializer(many=True)


class ScanSerializer(serializers.Serializer):
    kind = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    location = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    photo_ref = serializers.CharField()


class ShipmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    direction = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    status = serializers.CharField()
    promised_by = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    scans = ScanSerializer(many=True)


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "case_id", "order_item_id", "subscription_charge_id", "amount", "currency", "status", "reason"]
        read_only_fields = fields


class CreditSerializer(serializers.ModelSerializer):
    class Meta:
        model = GoodwillCredit
        fields = ["id", "case_id", "amount", "currency", "reason_code", "note", "status", "created_at"]
        read_only_fields = fields


# --- cases ------------------------------------------------------------------------------------------------------


class CaseListApi(generics.ListAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsStaff]
    serializer_class = CaseSerializer

    @extend_schema(
        operation_id="cases_list",
        parameters=[
            OpenApiParameter("status", str, description="Comma-separated statuses, e.g. new,assigned"),
            OpenApiParameter("department", str, description="Department slug"),
            OpenApiParameter("channel", str),
            OpenApiParameter("priority", int),
            OpenApiParameter("assignee", str, description='"me" or "none"'),
        ],
        tags=["cases"],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = selectors.cases_visible_to_agent(user=self.request.user).select_related("department", "assignee")
        params = self.request.query_params
        if params.get("status"):
            qs = qs.filter(status__in=[s for s in params["status"].split(",") if s])
        if params.get("department"):
            qs = qs.filter(department__slug=params["department"])
        if params.get("channel"):
            qs = qs.filter(channel=params["channel"])
        if params.get("priority"):
            try:
                qs = qs.filter(priority=int(params["priority"]))
            except ValueError:
                raise serializers.ValidationError({"priority": ["A whole number."]})
        assignee = params.get("assignee")
        if assignee == "me":
            qs = qs.filter(assignee=self.request.user)
        elif assignee == "none":
            qs = qs.filter(Q(assignee__isnull=True))
        return qs.order_by("priority", "queued_at", "id")


class CaseDetailApi(StaffApi):
    @extend_schema(operation_id="cases_retrieve", responses={200: CaseDetailSerializer, **ERRORS}, tags=["cases"])
    def get(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        return Response(CaseDetailSerializer(case).data)


class ReplyIn(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class CaseReplyApi(StaffApi):
    @extend_schema(
        operation_id="cases_reply",
        request=ReplyIn,
        responses={201: MessageSerializer, **ERRORS},
        tags=["cases"],
        description="Reply to the customer. You must hold the case (take it first).",
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = ReplyIn(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_post(
            case_id=case.pk, kind=Message.Kind.AGENT, body=data.validated_data["body"], author=request.user
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class TakeNextIn(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Case._meta.get_field("channel").choices, required=False)


class CaseTakeNextApi(StaffApi):
    @extend_schema(
        operation_id="cases_take_next",
        request=TakeNextIn,
        responses={200: CaseSerializer, **ERRORS},
        tags=["cases"],
        description="Claim the best waiting case you may take (409 when at capacity or nothing waits).",
    )
    def post(self, request):
        data = TakeNextIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_take_next(user=request.user, channel=data.validated_data.get("channel"))
        return Response(CaseSerializer(case).data)


class TransitionIn(serializers.Serializer):
    to = serializers.ChoiceField(
        choices=[
            (Case.Status.WAITING_CUSTOMER, "waiting on the customer (pauses the SLA clock)"),
            (Case.Status.RESOLVED, "resolved (needs a reason)"),
            (Case.Status.NEW, "back to the queue (release a held case, or reopen a resolved one)"),
        ]
    )
    reason = serializers.ChoiceField(choices=Case.ResolutionReason.choices, required=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CaseTransitionApi(StaffApi):
    @extend_schema(
        operation_id="cases_transition",
        request=TransitionIn,
        responses={200: CaseSerializer, **ERRORS},
        tags=["cases"],
        description=(
            "Move a case you hold (supervisors: any case) along its transition map. A move the map does not allow "
            "answers 409 and changes nothing; every move is on the case timeline."
        ),
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = TransitionIn(data=request.data)
        data.is_valid(raise_exception=True)
        to, note = data.validated_data["to"], data.validated_data["note"]
        if to == Case.Status.WAITING_CUSTOMER:
            case = case_wait_on_customer(case_id=case.pk, actor=request.user)
        elif to == Case.Status.RESOLVED:
            case = case_resolve(
                case_id=case.pk, reason=data.validated_data.get("reason", ""), actor=request.user, note=note
            )
        elif case.status == Case.Status.RESOLVED:
            case = case_reopen(case_id=case.pk, actor=request.user)
        else:
            case = case_release(case_id=case.pk, actor=request.user, reason=note)
        return Response(CaseSerializer(case).data)


class TransferIn(serializers.Serializer):
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CaseTransferApi(StaffApi):
    @extend_schema(
        operation_id="cases_transfer",
        request=TransferIn,
        responses={200: CaseSerializer, **ERRORS},
        tags=["cases"],
        description=(
            "Send a case you hold (supervisors: any case) to another department's queue, by the department's slug. "
            "It waits there, unassigned, for someone who works that department; the move is on the timeline."
        ),
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = TransferIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_transfer(
            case_id=case.pk,
            department_id=data.validated_data["department"].pk,
            actor=request.user,
            note=data.validated_data["note"],
        )
        return Response(CaseSerializer(case).data)


class EscalateIn(serializers.Serializer):
    to = serializers.ChoiceField(
        choices=[
            ("supervisor", "flag for supervisors at high priority (you keep the case)"),
            ("social", "hand over to social care (higher clearance) at high priority"),
        ]
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CaseEscalateApi(StaffApi):
    @extend_schema(
        operation_id="cases_escalate",
        request=EscalateIn,
        responses={200: CaseSerializer, **ERRORS},
        tags=["cases"],
        description="Escalate a case you hold (supervisors: any case) to a supervisor or to social care.",
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = EscalateIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_escalate(
            case_id=case.pk, to=data.validated_data["to"], actor=request.user, note=data.validated_data["note"]
        )
        return Response(CaseSerializer(case).data)


class MergeIn(serializers.Serializer):
    into = serializers.CharField(max_length=32, help_text="Reference of the open case of the same customer to keep.")


class CaseMergeApi(StaffApi):
    @extend_schema(
        operation_id="cases_merge",
        request=MergeIn,
        responses={200: CaseSerializer, **ERRORS},
        tags=["cases"],
        description=(
            "Merge this duplicate (you hold it; supervisors: any case) into another open case of the same customer. "
            "The duplicate becomes merged; both timelines record it."
        ),
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = MergeIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_merge(case_id=case.pk, into_reference=data.validated_data["into"], actor=request.user)
        return Response(CaseSerializer(case).data)


class AssignIn(serializers.Serializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(agent__isnull=False, is_active=True)
    )


class CaseAssignApi(StaffApi):
    @extend_schema(
        operation_id="cases_assign",
        request=AssignIn,
        responses={200: CaseSerializer, **ERRORS},
        tags=["cases"],
        description=(
            "Supervisors assign a waiting case, or reassign a held one, to an associate (by username) who works the "
            "case's department. Capacity is the supervisor's call (the board shows each associate's load)."
        ),
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = AssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        case = case_assign(case_id=case.pk, assignee=data.validated_data["assignee"], actor=request.user)
        return Response(CaseSerializer(case).data)


# --- customers --------------------------------------------------------------------------------------------------


class CustomerOrdersApi(StaffApi):
    @extend_schema(
        operation_id="customer_orders", responses={200: OrderSerializer(many=True), **ERRORS}, tags=["customers"]
    )
    def get(self, request, customer_id: int):
        customer = selectors.customer_get_for_agent(user=request.user, customer_id=customer_id)
        orders = selectors.customer_orders(customer=customer)[:100]
        return Response(OrderSerializer(orders, many=True).data)


class CustomerShipmentsApi(StaffApi):
    @extend_schema(
        operation_id="customer_shipments", responses={200: ShipmentSerializer(many=True), **ERRORS}, tags=["customers"]
    )
    def get(self, request, customer_id: int):
        customer = selectors.customer_get_for_agent(user=request.user, customer_id=customer_id)
        shipments = selectors.customer_shipments(customer=customer)[:100]
        return Response(ShipmentSerializer(shipments, many=True).data)


# --- money (idempotent) -----------------------------------------------------------------------------------------


def _principal(request) -> str:
    return f"user:{request.user.pk}"


def _idempotent(request, perform) -> Response:
    """Run ``perform`` once per (principal, Idempotency-Key); replay its response for the same request."""
    fingerprint = idempotency.idempotency_fingerprint(method=request.method, path=request.path, body=request.data)
    claim = idempotency.idempotency_begin(
        principal=_principal(request), key=request.headers.get("Idempotency-Key", ""), fingerprint=fingerprint
    )
    if claim.is_replay:
        return Response(claim.replay_body, status=claim.replay_status, headers={"Idempotent-Replayed": "true"})
    try:
        response = perform()
    except BaseException:
        idempotency.idempotency_abandon(record_id=claim.record_id)
        raise
    idempotency.idempotency_finish(record_id=claim.record_id, status=response.status_code, body=response.data)
    return response


class RefundIn(serializers.Serializer):
    order_item_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    subscription_charge_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=300)

    def validate(self, attrs):
        if (attrs["order_item_id"] is None) == (attrs["subscription_charge_id"] is None):
            raise serializers.ValidationError(
                {"order_item_id": ["Send exactly one of order_item_id, subscription_charge_id."]}
            )
        return attrs


class CaseRefundApi(StaffApi):
    throttle_scope = "money"

    @extend_schema(
        operation_id="cases_refund_create",
        request=RefundIn,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: RefundSerializer,
            422: OpenApiResponse(ERROR, description="Idempotency-Key reused with other parameters."),
            **ERRORS,
        },
        tags=["money"],
        description="Request a refund of one order item or subscription charge of the case's customer.",
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = RefundIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data

        def perform():
            item = charge = None
            if v["order_item_id"] is not None:
                item = OrderItem.objects.filter(pk=v["order_item_id"], order__customer_id=case.customer_id).first()
                if item is None:
                    raise serializers.ValidationError({"order_item_id": ["Not an item of this customer's orders."]})
            else:
                charge = SubscriptionCharge.objects.filter(
                    pk=v["subscription_charge_id"], subscription__customer_id=case.customer_id
                ).first()
                if charge is None:
                    raise serializers.ValidationError({"subscription_charge_id": ["Not a charge of this customer."]})
            refund = refund_request(
                idempotency_key=f"api:{_principal(request)}:{request.headers.get('Idempotency-Key', '')}"[:120],
                customer=case.customer,
                amount=v["amount"],
                reason=v["reason"],
                source=Refund.Source.AGENT,
                order_item=item,
                subscription_charge=charge,
                case=case,
                actor=request.user,
            )
            return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

        return _idempotent(request, perform)


class CreditIn(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason_code = serializers.ChoiceField(choices=GoodwillCredit.Reason.choices)
    note = serializers.CharField(max_length=2000)


class CaseCreditApi(StaffApi):
    throttle_scope = "money"

    @extend_schema(
        operation_id="cases_credit_create",
        request=CreditIn,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: CreditSerializer,
            422: OpenApiResponse(ERROR, description="Idempotency-Key reused with other parameters."),
            **ERRORS,
        },
        tags=["money"],
        description="Issue a goodwill credit: approved within your limits, pending a supervisor above them.",
    )
    def post(self, request, case_id: int):
        case = selectors.case_get_for_agent(user=request.user, case_id=case_id)
        data = CreditIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data

        def perform():
            credit = credit_grant(
                case_id=case.pk,
                amount=v["amount"],
                reason_code=v["reason_code"],
                note=v["note"],
                actor=request.user,
                ip_address=_client_ip(request),
            )
            return Response(CreditSerializer(credit).data, status=status.HTTP_201_CREATED)

        return _idempotent(request, perform)
