from .access import ApiKey, IdempotencyRecord, StaffSession
from .audit import AuditChainHead, AuditLog
from .callbacks import Callback, CallbackAttempt
from .core import (
    AgentProfile,
    BusinessHours,
    Case,
    CaseEvent,
    Channel,
    Department,
    Holiday,
    Intent,
    Macro,
    Message,
    Notification,
    Priority,
    Role,
)
from .money import CreditLimit, DeliveryDispute, GoodwillCredit, Refund
from .payments import SandboxPayout
from .sla import SlaPolicy, SlaRecord, SlaTarget
from .system import Heartbeat
from .workspace import CaseViewer

__all__ = [
    "AgentProfile",
    "ApiKey",
    "AuditChainHead",
    "AuditLog",
    "BusinessHours",
    "Callback",
    "CallbackAttempt",
    "Case",
    "CaseEvent",
    "CaseViewer",
    "Channel",
    "CreditLimit",
    "DeliveryDispute",
    "Department",
    "GoodwillCredit",
    "Heartbeat",
    "Holiday",
    "IdempotencyRecord",
    "Intent",
    "Macro",
    "Message",
    "Notification",
    "Priority",
    "Refund",
    "Role",
    "SandboxPayout",
    "SlaPolicy",
    "SlaRecord",
    "SlaTarget",
    "StaffSession",
]
