"""The one exception the extraction engine raises."""


class ExtractionError(ValueError):
    """A plan could not be read or contains no numbered tasks.

    The message is Chinese and meant to be shown to the person who uploaded the file.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message
