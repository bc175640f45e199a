"""Telephony adapter (Call Me Now). The default ``LocalTelephony`` places no real call: it records every dial
(in memory for this process and in the log) and returns a reference, so the whole callback flow runs on this
machine. A real adapter (Twilio, Amazon Connect, ...) implements the same ``dial`` and raises ``TelephonyError``."""

import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class TelephonyError(Exception):
    """The platform could not place the call (busy trunk, outage). The attempt is retried later."""


@dataclass(frozen=True)
class Dial:
    reference: str
    number: str


class LocalTelephony:
    dialed: list[dict] = []

    def __init__(self, *, fail: str = ""):
        self.fail = fail

    def dial(self, *, number: str, agent_username: str, reference: str) -> Dial:
        if self.fail:
            raise TelephonyError("local telephony: simulated outage")
        ref = f"call_{secrets.token_hex(6)}"
        self.dialed.append({"ref": ref, "number": number, "agent": agent_username, "callback": reference})
        log.info(
            "telephony.dial ref=%s callback=%s agent=%s number=…%s at=%s",
            ref,
            reference,
            agent_username,
            number[-4:],
            timezone.now().isoformat(),
        )
        return Dial(reference=ref, number=number)


def telephony_adapter():
    conf = dict(getattr(settings, "RH_TELEPHONY", {}))
    cls = import_string(conf.pop("ADAPTER", "cases.telephony.LocalTelephony"))
    return cls(**{k.lower(): v for k, v in conf.items()})
