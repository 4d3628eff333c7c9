"""Errors the service layer raises that are neither bad input nor a missing object."""


class ServiceUnavailable(Exception):
    """A dependency (database, media storage) cannot do its part right now; retry later."""

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
