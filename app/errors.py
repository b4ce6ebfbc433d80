"""Domain errors; the web layer turns them into 404 / 403 / 400 answers."""


class NotFound(Exception):
    """No such object in the actor's organisation (also when it exists elsewhere)."""


class Forbidden(Exception):
    """The actor's role does not allow this action."""


class Invalid(Exception):
    """Input that cannot be accepted: an untranslated message (marked with N_), shown to the person.

    Values for the message's %(name)s placeholders come as keywords and are filled in after translation.
    """

    def __init__(self, message: str, field: str | None = None, **params):
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params

    def text(self, gettext) -> str:
        """The message in the language `gettext` translates to."""
        translated = gettext(self.message)
        return translated % self.params if self.params else translated
