"""What a channel says when a message did not go."""

from __future__ import annotations


class DeliveryError(Exception):
    """A message not accepted: `transient` ones are tried again later, the others fail for good.

    `connection` marks a failure of the channel itself (server unreachable, login refused): the rest of
    the batch on that channel is not tried, it waits for the next round.
    """

    def __init__(self, message: str, *, transient: bool, connection: bool = False):
        super().__init__(message)
        self.transient = transient
        self.connection = connection
