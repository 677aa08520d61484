"""A local Telegram Bot API sandbox: a real HTTP server with Telegram's semantics.

For demos, tests and benchmarks only; it is not Telegram (README: "The Bot API sandbox").
"""

from adapters.telegram.sandbox.driver import Driver
from adapters.telegram.sandbox.errors import ApiError, DriverError
from adapters.telegram.sandbox.limits import (
    DropFault,
    Fault,
    FaultInjector,
    FloodControl,
    FloodLimits,
    HangFault,
    ManualClock,
    RetryAfterFault,
    ServerErrorFault,
)
from adapters.telegram.sandbox.record import Call, CallLog
from adapters.telegram.sandbox.seed import SeededWorld
from adapters.telegram.sandbox.server import DEFAULT_TOKEN, Sandbox, SandboxConfig
from adapters.telegram.sandbox.state import (
    GROUP_ANONYMOUS_BOT_ID,
    TELEGRAM_SERVICE_ID,
    AdminRights,
    ChatType,
    Member,
    Message,
    Permissions,
    Status,
    User,
)

__all__ = [
    "DEFAULT_TOKEN",
    "GROUP_ANONYMOUS_BOT_ID",
    "TELEGRAM_SERVICE_ID",
    "AdminRights",
    "ApiError",
    "Call",
    "CallLog",
    "ChatType",
    "Driver",
    "DriverError",
    "DropFault",
    "Fault",
    "FaultInjector",
    "FloodControl",
    "FloodLimits",
    "HangFault",
    "ManualClock",
    "Member",
    "Message",
    "Permissions",
    "RetryAfterFault",
    "Sandbox",
    "SandboxConfig",
    "SeededWorld",
    "ServerErrorFault",
    "Status",
    "User",
]
