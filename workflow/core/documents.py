"""Official documents (公文) from .docx templates that the office edits in Word or WPS.

definitions/documents.yaml lists the documents, the fields each is filled with and a sample of them;
definitions/templates/ holds the shipped templates. A template's text carries docxtpl's tags ({{ field }},
{%p if … %}, {%tr for … %}); the office may replace a template with its own copy (workflow.core.templates keeps
the versions), and the newest active version is the one used.

Rendering is fast because a template is prepared once per process: docxtpl's own clean-up of the tags that Word
splits across runs (patch_xml) and Jinja's compilation run when a template is first used, and a render only fills
the compiled parts and writes a new zip with every other part copied as it is. (docxtpl's render() re-reads and
re-parses the whole package with python-docx each time.) Values are XML-escaped; a newline in a value becomes a
line break.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate
from jinja2 import meta
from sqlmodel import Session, select

from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.models import Case, Town, Unit
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.yamlcheck import Checker, Label, read_mapping

DOCUMENTS_FILE = DEFINITIONS_DIR / "documents.yaml"
TEMPLATE_DIR = DEFINITIONS_DIR / "templates"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The parts of a package that carry text to fill: the body, headers, footers, notes and the document's properties.
FILLED_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml|docProps/core\.xml")
DRAFT_NUMBER = "　　"  # the blank a draft's number leaves, filled when the document is issued


class CatalogError(Exception):
    """definitions/documents.yaml is broken; `lines` names every problem as `file: key: problem`."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


class TemplateProblem(Exception):
    """A template cannot be used: `zh` and `en` say why, in words for the office."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class DocumentSpec:
    name: str
    label: Label
    file: str
    fields: dict[str, Label]
    sample: dict[str, Any]
    series: str | None = None  # 阳专镇〔{year}〕{n}号
    counter: str | None = None  # the counter (workflow.core.engine.next_number) that numbers the series

    def number(self, year: int, n: int | None) -> str:
        """The document number; with n None, a draft's number with the blank left to fill."""
        if self.series is None:
            raise ValueError(f"document {self.name} has no number series")
        return self.series.format(year=year, n=DRAFT_NUMBER if n is None else n)


@dataclass(frozen=True)
class DocumentCatalog:
    common_fields: dict[str, Label]
    common: dict[str, str]
    documents: dict[str, DocumentSpec]

    def get(self, name: str) -> DocumentSpec:
        return self.documents[name]

    def allowed(self, name: str) -> set[str]:
        """The fields a template of `name` may use."""
        return {*self.common_fields, *self.common, *self.documents[name].fields}


def load_catalog(path: Path = DOCUMENTS_FILE, templates: Path = TEMPLATE_DIR) -> DocumentCatalog:
    """Read and check definitions/documents.yaml; every problem at once in CatalogError."""
    raw = read_mapping(path.read_text(encoding="utf-8"), path.name, CatalogError)
    check = Checker(path.name)
    check.unknown_keys(raw, {"common", "documents"})
    common_raw = raw.get("common") or {}
    check.unknown_keys(common_raw, {"fields", "values"}, "common")
    common_fields = {k: check.label(v, f"common.fields.{k}") for k, v in (common_raw.get("fields") or {}).items()}
    values = common_raw.get("values") or {}
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            check.error(f"common.values.{key}", "must be a non-empty text")
    documents: dict[str, DocumentSpec] = {}
    for name, spec in (raw.get("documents") or {}).items():
        key = f"documents.{name}"
        if not isinstance(spec, dict):
            check.error(key, "must be a mapping")
            continue
        check.unknown_keys(spec, {"label", "file", "fields", "sample", "series", "counter"}, key)
        fields = {k: check.label(v, f"{key}.fields.{k}") for k, v in (spec.get("fields") or {}).items()}
        sample = spec.get("sample") or {}
        for field in fields:
            if field not in sample:
                check.error(f"{key}.sample", f"has no value for field {field}")
        for field in sample:
            if field not in fields:
                check.error(f"{key}.sample.{field}", "is not a field of the document")
        file = spec.get("file")
        if not isinstance(file, str) or not (templates / file).is_file():
            check.error(f"{key}.file", f"no template file {file!r} in {templates.name}/")
        if (spec.get("series") is None) != (spec.get("counter") is None):
            check.error(key, "a numbered document needs both series and counter")
        if spec.get("series") is not None and "{n}" not in str(spec["series"]):
            check.error(f"{key}.series", "must contain {n} (and usually {year})")
        documents[name] = DocumentSpec(name=name, label=check.label(spec.get("label"), f"{key}.label"),
                                       file=str(file), fields=fields, sample=dict(sample),
                                       series=spec.get("series"), counter=spec.get("counter"))
    if check.errors:
        raise CatalogError(check.errors)
    return DocumentCatalog(common_fields=common_fields, common={k: str(v) for k, v in values.items()},
                           documents=documents)


@cache
def catalog() -> DocumentCatalog:
    return load_catalog()


class CompiledTemplate:
    """A .docx template prepared once: its text parts cleaned by docxtpl and compiled by Jinja."""

    def __init__(self, content: bytes):
        self.content = content
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(content))
            names = self._zip.namelist()
        except zipfile.BadZipFile:
            raise TemplateProblem("文件不是 Word 文档（.docx）。", "The file is not a Word document (.docx).") from None
        if "word/document.xml" not in names:
            raise TemplateProblem("文件不是 Word 文档（.docx）：缺少正文部分。",
                                  "The file is not a Word document (.docx): it has no body.")
        self._docxtpl = DocxTemplate(io.BytesIO(content))  # its tag clean-up and line-break handling only
        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        self.parts: dict[str, jinja2.Template] = {}
        self.variables: set[str] = set()
        for name in names:
            if not FILLED_PARTS.fullmatch(name):
                continue
            source = self._docxtpl.patch_xml(self._zip.read(name).decode("utf-8"))
            source = re.sub(r"<w:p([ >])", r"\n<w:p\1", source)
            try:
                self.variables |= meta.find_undeclared_variables(env.parse(source))
                self.parts[name] = env.from_string(source)
            except jinja2.TemplateSyntaxError as exc:
                text = re.sub(r"<[^>]+>", "", "\n".join(source.splitlines()[max(exc.lineno - 2, 0):exc.lineno + 1]))
                raise TemplateProblem(f"模板标记有误（{exc.message}），在“{text.strip()[:80]}”附近。",
                                      f"A template tag is wrong ({exc.message}) near '{text.strip()[:80]}'.") from None
        self.variables.discard("loop")
        # The parts that never change are compressed once, into a package that each render appends to.
        self._filled_members = [(i.filename, i.date_time) for i in self._zip.infolist() if i.filename in self.parts]
        unchanged = io.BytesIO()
        with zipfile.ZipFile(unchanged, "w", zipfile.ZIP_DEFLATED) as target:
            for item in self._zip.infolist():
                if item.filename not in self.parts:
                    target.writestr(zipfile.ZipInfo(item.filename, item.date_time), self._zip.read(item.filename),
                                    compress_type=zipfile.ZIP_DEFLATED)
        self._unchanged = unchanged.getvalue()

    def render(self, context: dict[str, Any]) -> bytes:
        filled = {}
        for name, template in self.parts.items():
            try:
                xml = template.render(context)
            except jinja2.UndefinedError as exc:
                raise TemplateProblem(f"模板使用了未知的字段（{exc.message}）。",
                                      f"The template uses an unknown field ({exc.message}).") from None
            xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
            xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
            filled[name] = self._docxtpl.resolve_listing(xml).encode("utf-8")
        out = io.BytesIO(self._unchanged)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
            for name, date_time in self._filled_members:
                target.writestr(zipfile.ZipInfo(name, date_time), filled[name], compress_type=zipfile.ZIP_DEFLATED)
        return out.getvalue()


_compiled: dict[str, CompiledTemplate] = {}
_lock = threading.Lock()


def compiled(content: bytes, key: str) -> CompiledTemplate:
    """The template of `content` prepared once per process (`key` names the content: its sha256)."""
    found = _compiled.get(key)
    if found is None:
        found = CompiledTemplate(content)
        with _lock:
            if len(_compiled) > 64:  # versions replaced long ago
                _compiled.clear()
            _compiled[key] = found
    return found


@cache
def shipped(name: str) -> bytes:
    """The template of `name` as the repository ships it."""
    return (TEMPLATE_DIR / catalog().get(name).file).read_bytes()


def context_for(name: str, fields: dict[str, Any], *, issued: date, draft: bool = False,
                docs: DocumentCatalog | None = None) -> dict[str, Any]:
    """Everything a template of `name` is filled with: the city's common values, the date, the document's fields."""
    docs = docs or catalog()
    spec = docs.get(name)
    unknown = set(fields) - set(spec.fields)
    missing = set(spec.fields) - set(fields)
    if unknown or missing:
        raise ValueError(f"{name}: unknown fields {sorted(unknown)}, missing fields {sorted(missing)}")
    return {**docs.common, "printed_date": cn_date(issued), "draft": draft,
            **{k: "" if v is None else v for k, v in fields.items()}}


def render_with(content: bytes, key: str, name: str, fields: dict[str, Any], *, issued: date,
                draft: bool = False) -> bytes:
    """Fill the template `content` (sha256 `key`) of document `name`."""
    return compiled(content, key).render(context_for(name, fields, issued=issued, draft=draft))


def render_shipped(name: str, fields: dict[str, Any], *, issued: date, draft: bool = False) -> bytes:
    """Document `name` from the template the repository ships (for a document made outside a transaction)."""
    from workflow.core.templates import shipped_key

    return render_with(shipped(name), shipped_key(name), name, fields, issued=issued, draft=draft)


def render(session: Session, name: str, fields: dict[str, Any], *, issued: date, draft: bool = False) -> bytes:
    """Document `name` filled with `fields`, from the template in use (the office's active version, else the
    shipped one); a draft is watermarked 草稿."""
    from workflow.core.templates import template_in_use

    content, key = template_in_use(session, name)
    return render_with(content, key, name, fields, issued=issued, draft=draft)


def check_template(name: str, content: bytes) -> bytes:
    """Refuse a template that uses a field `name` does not have, or does not render with the sample; the sample
    rendered when it is fine."""
    docs = catalog()
    template = CompiledTemplate(content)
    unknown = sorted(template.variables - docs.allowed(name))
    if unknown:
        raise TemplateProblem(f"模板使用了该文书没有的字段：{'、'.join(unknown)}。",
                              f"The template uses fields this document does not have: {', '.join(unknown)}.")
    rendered = template.render(context_for(name, docs.get(name).sample, issued=date(2026, 11, 27), draft=True))
    try:
        zipfile.ZipFile(io.BytesIO(rendered)).testzip()
        from docx import Document

        Document(io.BytesIO(rendered))
    except Exception as exc:  # python-docx raises many kinds of error on a broken package
        raise TemplateProblem(f"模板填充后不是有效的 Word 文档（{type(exc).__name__}）。",
                              f"The filled template is not a valid Word document ({exc}).") from None
    return rendered


def cn_date(day: date) -> str:
    """2026年11月27日 (Arabic numerals, as GB/T 9704-2012 has it)."""
    return f"{day.year}年{day.month}月{day.day}日"


def number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def industry_text(data: dict[str, Any]) -> str:
    """'食品加工（制造业）' from an application's leading industry and category."""
    category = INDUSTRY_CATEGORIES.get(data.get("industry_category") or "", (None,))[0]
    industry = str(data.get("leading_industry") or "").strip()
    if industry and category:
        return f"{industry}（{category}）"
    return industry or category or "未填写"


def case_names(session: Session, case: Case, unit_ids: list[int]) -> tuple[str, str, dict[int, str]]:
    town = session.get(Town, case.town_id) if case.town_id else None
    ids = {case.county_id, *unit_ids}
    names: dict[int, str] = dict(session.exec(  # type: ignore[arg-type]  # SQLModel's select() of two columns is typed as a row of Any
        select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())  # type: ignore[union-attr]  # SQLModel types a column as its Python value, not a SQL expression
    return (town.name if town else "", names.get(case.county_id, ""), names)
