"""Turning a verdict into an action under the group's failure policy (rule 8)."""

import attrs

from domain.ids import ChannelId
from domain.membership import Verdict
from domain.policy import FailurePolicy


@attrs.frozen
class Decision:
    """What to do with a member after checking their channels."""

    restrict_for: tuple[ChannelId, ...] = ()
    """The channels to show as missing; empty when the member may talk."""
    unanswered: tuple[ChannelId, ...] = ()
    """Channels Telegram could not answer for; the admins should hear about them."""

    @property
    def restrict(self) -> bool:
        """Mute the member."""
        return bool(self.restrict_for)


def decide(verdict: Verdict, failure_policy: FailurePolicy) -> Decision:
    """Known-missing channels always restrict; unanswered ones only under the `closed` policy."""
    if failure_policy is FailurePolicy.CLOSED:
        return Decision(verdict.missing + verdict.unknown, verdict.unknown)
    return Decision(verdict.missing, verdict.unknown)
