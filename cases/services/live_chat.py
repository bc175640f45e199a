"""Live chat between a customer and an associate. Messages go through ``message_post``; this module only adds
what the live channel needs: the assistant's holding reply while nobody has joined, and never after."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cases.models import Case, Message
from cases.services.messages import message_post
from cases.services.sla import sla_promise_late, sla_promise_text

# While no associate holds the case the assistant answers at most this often ("an associate will join shortly").
ASSISTANT_HOLDING_INTERVAL = timedelta(seconds=60)


def assistant_may_reply(*, case: Case) -> bool:
    """The assistant speaks only until a human has joined: once a case has an assignee it stays silent."""
    return case.assignee_id is None and case.status == Case.Status.NEW


@transaction.atomic
def live_chat_customer_post(*, case_id: int, body: str, author) -> Message:
    """The customer writes in the live chat. If no associate has joined yet, the assistant acknowledges (at most
    once a minute) with the promise; once a human has joined, the assistant stays silent."""
    message = message_post(case_id=case_id, kind=Message.Kind.CUSTOMER, body=body, author=author)
    case = Case.objects.select_related("department").get(pk=case_id)
    if assistant_may_reply(case=case):
        since = timezone.now() - ASSISTANT_HOLDING_INTERVAL
        recent = Message.objects.filter(case_id=case_id, kind=Message.Kind.ASSISTANT, created_at__gte=since).exists()
        if not recent:
            if sla_promise_late(case=case):  # no time in the past: the wait has been longer than promised
                body = (
                    "Thanks, I have added that to your case. "
                    "Sorry for the wait: an associate will join this chat as soon as they can."
                )
            else:  # the promise as the chat's status line and the customer's pages give it (the department's zone)
                promise = sla_promise_text(case=case)
                promise = f" {promise[0].upper()}{promise[1:]}." if promise else ""
                body = "Thanks, I have added that to your case. An associate will join this chat shortly." + promise
            message_post(case_id=case_id, kind=Message.Kind.ASSISTANT, body=body)
    return message
