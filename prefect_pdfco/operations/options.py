"""The typed tasks' arguments: what a caller may pass, how PDF.co gets it, and the options many tasks share.

Each argument of a typed task is declared once, in the task's signature, where type checkers read it. Its
``Annotated[...]`` metadata may hold a ``Sent``: the pydantic type that checks the value and gives what is sent
(``Pages`` turns ``[0, "2-4"]`` into ``"0,2-4"``), and PDF.co's name for it when that is not the argument's
name in camelCase (``http_username`` goes as ``httpusername``). The aliases below pair the two for the common
kinds of argument. Options most tasks share are ``TypedDict`` groups that a task unpacks
(``**options: Unpack[PdfOptions]``, PEP 692); a group documents its fields in its ``Attributes:``, and
``operation_task`` adds those lines to the ``Args:`` of every task that takes them. ``signature.py`` builds
each task's parameter model from all this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeAlias

from pydantic import SecretStr
from typing_extensions import TypedDict

from prefect_pdfco.jobs.keys import SubmitOptions
from prefect_pdfco.operations.params import (
    Callback,
    Expiration,
    InputUrl,
    InputUrls,
    JsonText,
    Lang,
    NonEmpty,
    NumberText,
    OneBasedPages,
    Pages,
    Profiles,
    Rect,
    SplitPages,
)

__all__ = [
    "Area",
    "FetchOptions",
    "JobOptions",
    "Json",
    "Link",
    "LinkOptions",
    "Links",
    "Minutes",
    "OcrLanguages",
    "OutputOptions",
    "PageArg",
    "PageRanges",
    "PageRangesFrom1",
    "Password",
    "PdfOptions",
    "Sent",
    "SplitRanges",
    "TemplateId",
    "Text",
]


@dataclass(frozen=True)
class Sent:
    """How a typed task's argument reaches PDF.co (``Annotated`` metadata, read by ``signature.py``).

    Attributes:
        type: The pydantic type that validates the value and gives what is sent; the annotation when None.
        name: PDF.co's name for it; when None, the argument's name in camelCase (``paper_size``: ``paperSize``).
        exclude: Not sent under its own name: the task's check builds what is sent (search and replace pairs).
    """

    type: Any = None
    name: str | None = None
    exclude: bool = False


#: What a ``pages`` argument takes: ``"0,2-4,!0"``, one page number, or a list of numbers and ranges.
PageArg: TypeAlias = str | int | Sequence[int | str]
#: Pages counted from 0 (most endpoints): ``"0"`` is the first page, ``"!0"`` the last.
PageRanges = Annotated[PageArg, Sent(Pages)]
#: Pages counted from 1 (delete-pages).
PageRangesFrom1 = Annotated[PageArg, Sent(OneBasedPages)]
#: Ranges counted from 1, one part each; ``"*"`` for a part per page (split).
SplitRanges = Annotated[PageArg, Sent(SplitPages)]
#: A link PDF.co can fetch: http(s)://, filetoken:// (Built-In Files Storage), optionally ``cache:``-prefixed.
Link = Annotated[str, Sent(InputUrl)]
#: Several links (a list or a tuple: one string is not taken for a list of its letters), sent as one
#: comma-separated ``url``: no link may hold a raw comma.
Links = Annotated[list[str] | tuple[str, ...], Sent(InputUrls, "url")]
#: A password: text or a ``SecretStr``; revealed on the wire only, never logged.
Password = Annotated[str | SecretStr, Sent(SecretStr)]
#: OCR language codes: ``"eng"``, ``"eng+deu"``...
OcrLanguages = Annotated[str, Sent(Lang)]
#: An area of the page: ``"x, y, width, height"`` in points, or four numbers.
Area = Annotated[str | Sequence[float], Sent(Rect)]
#: JSON data: a mapping or a list (sent as JSON text), or the text itself.
Json = Annotated[Mapping[str, Any] | Sequence[Any] | str, Sent(JsonText)]
#: Text that may not be empty.
Text = Annotated[str, Sent(NonEmpty)]
#: The id of a template saved at app.pdf.co (PDF.co takes it as text).
TemplateId = Annotated[str | int, Sent(NumberText)]
#: How long result links live, in whole minutes (1-1440).
Minutes = Annotated[int, Sent(Expiration)]


class JobOptions(SubmitOptions, total=False):
    """Options of every typed task: the webhook, engine options, parameters not modelled, the submit options.

    Attributes:
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options (a mapping, or PDF.co's JSON-ish text).
        extra: PDF.co parameters not modelled here, sent as given (they win over the ones above).
    """

    callback: Annotated[str, Sent(Callback)]
    profiles: Annotated[Mapping[str, Any] | str, Sent(Profiles)]
    extra: dict[str, Any]


class OutputOptions(JobOptions, total=False):
    """Options of the tasks that leave a file behind, and those of every task.

    Attributes:
        name: The output file name.
        expiration: Minutes the result link lives (1-1440; over 60 needs a Business 2 plan or above).
    """

    name: Text
    expiration: Minutes


class FetchOptions(TypedDict, total=False):
    """How PDF.co fetches an input link that needs a login.

    Attributes:
        http_username: User name for fetching the input (HTTP basic auth).
        http_password: Password for fetching the input (never logged).
    """

    http_username: Annotated[str, Sent(name="httpusername")]
    http_password: Annotated[Password, Sent(name="httppassword")]


class LinkOptions(FetchOptions, OutputOptions, total=False):
    """Options of the tasks whose input is a link: fetching it, and the output and job options."""


class PdfOptions(LinkOptions, total=False):
    """Options of the tasks whose input is a PDF: its password, and the options of a linked input.

    Attributes:
        password: The PDF's password, if it has one (never logged).
    """

    password: Password
