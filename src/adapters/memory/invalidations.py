"""`Invalidations` for a bot of one process: nobody else to tell; what was published is kept."""

import attrs

from application.ports.invalidations import Invalidation, Invalidations


@attrs.define
class InMemoryInvalidations(Invalidations):
    """Records every invalidation published (tests read `published`)."""

    published: list[Invalidation] = attrs.Factory(list[Invalidation])

    async def publish(self, invalidation: Invalidation) -> None:
        self.published.append(invalidation)
        del self.published[:-1000]  # a long run keeps only the last ones
