"""The base of the tree, and the one way every error in it survives Prefect's pickling."""

from __future__ import annotations


class PdfcoError(Exception):
    """Base class of every error raised by prefect-pdfco.

    Prefect pickles a task's exception into its state, and our constructors take keyword arguments that
    ``Exception``'s own pickling cannot replay: every error is rebuilt from its message and attributes instead,
    without the ``httpx`` request and response (the request's headers hold the API key).
    """

    def __reduce__(self) -> tuple[object, ...]:
        state = {key: None if key in ("request", "response") else value for key, value in self.__dict__.items()}
        return (_rebuild, (type(self), self.args), state)


def _rebuild(cls: type[PdfcoError], args: tuple[object, ...]) -> PdfcoError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error
