"""The parameter model of each typed operation task (validation and payload; the tasks hold the docs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator, model_validator
from typing_extensions import Self

from prefect_pdfco.operations.params import (
    InputUrl,
    InputUrls,
    JsonText,
    Lang,
    OneBasedPages,
    OperationParams,
    Pages,
    Rect,
    SplitPages,
    UrlInputParams,
    camel,
)

__all__ = [
    "AddPasswordParams",
    "AddToPdfParams",
    "CompressPdfParams",
    "DeletePagesParams",
    "FindTextParams",
    "FormFieldValue",
    "GenerateBarcodeParams",
    "HtmlToPdfParams",
    "ImageAnnotation",
    "MakeSearchableParams",
    "MultiUrlParams",
    "ParseDocumentParams",
    "ParseInvoiceParams",
    "PdfToHtmlParams",
    "ReadBarcodesParams",
    "RemovePasswordParams",
    "ReplaceTextParams",
    "RotatePagesParams",
    "SplitPdfParams",
    "TextAnnotation",
    "TextExtractionParams",
    "UrlToPdfParams",
]


def _capitalized(value: object) -> object:
    return value.strip().capitalize() if isinstance(value, str) else value


def _lowered(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _uppered(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _as_text(value: object) -> object:
    # Template ids and line-grouping modes are numbers that PDF.co takes as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = [str(item).strip() for item in value if str(item).strip()]
        if items:
            return ",".join(items)
    raise ValueError("expected a non-empty list of names (or a comma-separated string)")


CommaList = Annotated[str, BeforeValidator(_comma_list)]


class _PageLayout(OperationParams):
    """Rendering options shared by HTML and web page to PDF."""

    margins: str | None = None
    paper_size: str | None = camel("paperSize")
    orientation: Annotated[Literal["Portrait", "Landscape"] | None, BeforeValidator(_capitalized)] = None
    print_background: bool | None = camel("printBackground")
    media_type: Annotated[Literal["print", "screen", "none"] | None, BeforeValidator(_lowered)] = camel("mediaType")
    header: str | None = None
    footer: str | None = None
    do_not_wait_full_load: bool | None = camel("DoNotWaitFullLoad")


class HtmlToPdfParams(_PageLayout):
    html: str | None = Field(None, min_length=1)
    template_id: Annotated[str | None, BeforeValidator(_as_text)] = camel("templateId", min_length=1)
    template_data: JsonText | None = camel("templateData")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.html is None) == (self.template_id is None):
            raise ValueError("pass exactly one of html or template_id")
        if self.template_data is not None and self.template_id is None:
            raise ValueError("template_data goes with template_id, not with html")
        return self


class UrlToPdfParams(_PageLayout, UrlInputParams):
    pass


class MultiUrlParams(OperationParams):
    """Several inputs, sent as one comma-separated ``url`` (merge, image to PDF)."""

    urls: InputUrls = Field(serialization_alias="url")
    password: SecretStr | None = None
    http_username: str | None = Field(None, serialization_alias="httpusername")
    http_password: SecretStr | None = Field(None, serialization_alias="httppassword")


class SplitPdfParams(UrlInputParams):
    pages: SplitPages = "*"


class TextExtractionParams(UrlInputParams):
    """PDF to text, JSON and CSV."""

    pages: Pages | None = None
    lang: Lang | None = None
    rect: Rect | None = None
    inline: bool | None = None
    unwrap: bool | None = None
    line_grouping: Annotated[Literal["1", "2", "3"] | None, BeforeValidator(_as_text)] = camel("lineGrouping")


class PdfToHtmlParams(UrlInputParams):
    pages: Pages | None = None
    rect: Rect | None = None
    simple: bool | None = None
    columns: bool | None = None
    inline: bool | None = None


class RotatePagesParams(UrlInputParams):
    angle: int = Field(strict=True)
    pages: Pages | None = None

    @field_validator("angle")
    @classmethod
    def _quarter_turns(cls, value: int) -> int:
        if value % 90 or value == 0 or abs(value) >= 360:
            raise ValueError("expected 90, 180, 270 or their negatives (-90 turns counter-clockwise)")
        return value


class DeletePagesParams(UrlInputParams):
    pages: OneBasedPages


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


class AddToPdfParams(UrlInputParams):
    annotations: list[TextAnnotation] | None = None
    images: list[ImageAnnotation] | None = None
    fields: list[FormFieldValue] | None = None

    @model_validator(mode="after")
    def _something_to_add(self) -> Self:
        if not (self.annotations or self.images or self.fields):
            raise ValueError("nothing to add: pass annotations, images and/or fields")
        return self

    def to_payload(self) -> dict[str, Any]:
        payload = super().to_payload()
        for key in ("annotations", "images", "fields"):
            if not payload.get(key):
                payload.pop(key, None)
        return payload


class FindTextParams(UrlInputParams):
    search_string: str = camel("searchString", ..., min_length=1)
    regex: bool | None = Field(None, serialization_alias="regexSearch")
    case_sensitive: bool | None = camel("caseSensitive")
    word_matching_mode: Literal["None", "SmartMatch", "ExactMatch"] | None = camel("wordMatchingMode")
    pages: Pages | None = None
    inline: bool | None = None


class ReplaceTextParams(UrlInputParams):
    search: str | list[str] = Field(exclude=True)
    replace: str | list[str] = Field(exclude=True)
    regex: bool | None = None
    case_sensitive: bool | None = camel("caseSensitive")
    replacement_limit: int | None = camel("replacementLimit", ge=0, strict=True)
    pages: Pages | None = None

    @model_validator(mode="after")
    def _pairs(self) -> Self:
        searches = [self.search] if isinstance(self.search, str) else self.search
        if not searches or not all(searches):
            raise ValueError("search: pass the text (or texts) to find, none empty")
        if isinstance(self.replace, list) and len(self.replace) != len(searches):
            raise ValueError(f"replace: {len(self.replace)} replacement(s) for {len(searches)} search string(s)")
        return self

    def to_payload(self) -> dict[str, Any]:
        payload = super().to_payload()
        if isinstance(self.search, str) and isinstance(self.replace, str):
            payload.update(searchString=self.search, replaceString=self.replace)
        else:
            # Several pairs go as two parallel arrays; one replacement string serves every search string.
            searches = [self.search] if isinstance(self.search, str) else list(self.search)
            replaces = [self.replace] * len(searches) if isinstance(self.replace, str) else list(self.replace)
            payload.update(searchStrings=searches, replaceStrings=replaces)
        payload.update(self.extra or {})
        return payload


class AddPasswordParams(UrlInputParams):
    owner_password: SecretStr | None = camel("ownerPassword")
    user_password: SecretStr | None = camel("userPassword")
    # The docs table and PDF.co's MCP server spell it with a capital E.
    encryption_algorithm: Literal["RC4_40bit", "RC4_128bit", "AES_128bit", "AES_256bit"] | None = camel(
        "EncryptionAlgorithm"
    )
    allow_print_document: bool | None = camel("allowPrintDocument")
    allow_fill_forms: bool | None = camel("allowFillForms")
    allow_modify_document: bool | None = camel("allowModifyDocument")
    allow_content_extraction: bool | None = camel("allowContentExtraction")
    allow_modify_annotations: bool | None = camel("allowModifyAnnotations")
    allow_accessibility_support: bool | None = camel("allowAccessibilitySupport")
    allow_assembly_document: bool | None = camel("allowAssemblyDocument")
    print_quality: Literal["HighResolution", "LowResolution"] | None = camel("printQuality")

    @model_validator(mode="after")
    def _a_password(self) -> Self:
        given = [p for p in (self.owner_password, self.user_password) if p is not None and p.get_secret_value()]
        if not given:
            raise ValueError("pass owner_password and/or user_password")
        return self


class RemovePasswordParams(UrlInputParams):
    password: SecretStr

    @field_validator("password")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("the document's owner or user password is required")
        return value


class CompressPdfParams(UrlInputParams):
    # /v2/pdf/compress's config: {"images": {"color": ..., "grayscale": ..., "monochrome": ...}, "save": ...}.
    config: dict[str, Any] | None = None


class MakeSearchableParams(UrlInputParams):
    lang: Lang | None = None
    pages: Pages | None = None
    rect: Rect | None = None


class ParseDocumentParams(UrlInputParams):
    template_id: Annotated[str | None, BeforeValidator(_as_text)] = camel("templateId", min_length=1)
    template: JsonText | None = None
    output_format: Annotated[Literal["JSON", "YAML", "XML", "CSV"] | None, BeforeValidator(_uppered)] = camel(
        "outputFormat"
    )
    generate_csv_headers: bool | None = camel("generateCsvHeaders")
    inline: bool | None = None

    @model_validator(mode="after")
    def _one_template(self) -> Self:
        if (self.template_id is None) == (self.template is None):
            raise ValueError("pass exactly one of template_id or template")
        return self


class ParseInvoiceParams(OperationParams):
    url: InputUrl
    # The endpoint's own spelling is all lower case: "customfield", comma-separated names.
    custom_fields: CommaList | None = Field(None, serialization_alias="customfield")


class ReadBarcodesParams(UrlInputParams):
    barcode_types: CommaList = Field(serialization_alias="types")
    pages: Pages | None = None


class GenerateBarcodeParams(OperationParams):
    value: str = Field(min_length=1)
    barcode_type: str = Field("QRCode", min_length=1, serialization_alias="type")
    decoration_image: InputUrl | None = camel("decorationImage")
    inline: bool | None = None
