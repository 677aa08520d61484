"""A local Telegram Bot API sandbox: a real HTTP server with Telegram's semantics.

For demos, tests and benchmarks only; it is not Telegram (README: "The Bot API sandbox").
"""

from telegram_sandbox.driver import Driver
from telegram_sandbox.errors import ApiError, DriverError
from telegram_sandbox.limits import (
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
from telegram_sandbox.record import Call, CallLog
from telegram_sandbox.seed import SeededWorld
from telegram_sandbox.server import DEFAULT_TOKEN, Sandbox, SandboxConfig
from telegram_sandbox.state import (
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
