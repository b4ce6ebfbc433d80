"""Domain errors; the web layer turns them into 404 / 403 / 400 answers."""


class NotFound(Exception):
    """No such object in the actor's organisation (also when it exists elsewhere)."""


class Forbidden(Exception):
    """The actor's role does not allow this action."""


class Invalid(Exception):
    """Input that cannot be accepted; the message is shown to the person (already translated key)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
