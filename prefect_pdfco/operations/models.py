"""The items a typed task takes in lists: text and images to add to pages, values for form fields.

PDF.co's ``/v1/pdf/edit/add`` takes them as ``annotations[]``, ``images[]`` and ``fields[]``. Each is a pydantic
model (or a mapping with PDF.co's keys): checked before any request, sent with PDF.co's names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from prefect_pdfco.operations.params import Pages, camel

__all__ = [
    "FormFieldValue",
    "FormFieldValues",
    "ImageAnnotation",
    "ImageAnnotations",
    "TextAnnotation",
    "TextAnnotations",
]


class _Item(BaseModel):
    # Further PDF.co options pass through as given (camelCase), e.g. {"fontStrikeout": true}.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class TextAnnotation(_Item):
    """Text to draw on pages (``annotations[]`` of ``/v1/pdf/edit/add``).

    Coordinates are points from the top-left corner of the page; ``pages`` counts from 0. PDF.co's own n8n node
    documents the first page as the default (the emulator stamps every page): pass ``pages`` explicitly.
    """

    text: str = Field(min_length=1)
    x: float
    y: float
    pages: Pages | None = None
    size: float | None = Field(None, gt=0)
    color: str | None = Field(None, pattern=r"^#?[0-9a-fA-F]{6}$")
    font_name: str | None = camel("fontName")
    font_bold: bool | None = camel("fontBold")
    font_italic: bool | None = camel("fontItalic")
    font_underline: bool | None = camel("fontUnderline")
    link: str | None = None
    width: float | None = Field(None, gt=0)
    height: float | None = Field(None, gt=0)
    alignment: Literal["left", "center", "right"] | None = None


class ImageAnnotation(_Item):
    """An image to place on pages (``images[]``): a link, a ``filetoken://`` link or base64 data."""

    url: str = Field(min_length=1)
    x: float
    y: float
    width: float | None = Field(None, gt=0)
    height: float | None = Field(None, gt=0)
    pages: Pages | None = None
    link: str | None = None
    keep_aspect_ratio: bool | None = camel("keepAspectRatio")


class FormFieldValue(_Item):
    """A value for a form field (``fields[]``), found by its name."""

    field_name: str = camel("fieldName", ..., min_length=1)
    text: str
    pages: Pages | None = None
    size: float | None = Field(None, gt=0)
    font_name: str | None = camel("fontName")


def _none_if_empty(items: list[Any]) -> list[Any] | None:
    # An empty list adds nothing: it is left out of the payload.
    return items or None


#: Items given as models or as mappings with PDF.co's keys (an empty list is left out of the payload).
TextAnnotations = Annotated[list[TextAnnotation], AfterValidator(_none_if_empty)]
ImageAnnotations = Annotated[list[ImageAnnotation], AfterValidator(_none_if_empty)]
FormFieldValues = Annotated[list[FormFieldValue], AfterValidator(_none_if_empty)]
