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

import hashlib
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
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlmodel import Session, col, select

from workflow.core.attachments import stored_path, upload_root
from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.errors import Conflict
from workflow.core.models import Case, DocumentTemplate, Town, Unit
from workflow.core.profile import Profile, profile
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.yamlcheck import Checker, Label, read_mapping

DOCUMENTS_FILE = DEFINITIONS_DIR / "documents.yaml"
TEMPLATE_DIR = DEFINITIONS_DIR / "templates"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The parts of a package that carry text to fill: the body, headers, footers, notes and the document's properties.
FILLED_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml|docProps/core\.xml")
DRAFT_NUMBER = "　　"  # the blank a draft's number leaves, filled when the document is issued
# What a template's package may hold once unpacked (the parts' declared sizes; zipfile reads no more than them):
# far above any real notice, far below what would exhaust the server's memory.
MAX_UNPACKED = 100 * 1024 * 1024
MAX_REPEAT = 10_000  # the longest text or list a template may make with * (e.g. "—" * 20)


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


def load_catalog(path: Path = DOCUMENTS_FILE, templates: Path = TEMPLATE_DIR,
                 city: Profile | None = None) -> DocumentCatalog:
    """Read and check definitions/documents.yaml; every problem at once in CatalogError. The city's texts and 文号
    series come from its profile (`city`, else the profile in use), over what the file itself may give."""
    city = city or profile()
    raw = read_mapping(path.read_text(encoding="utf-8"), path.name, CatalogError)
    check = Checker(path.name)
    check.unknown_keys(raw, {"common", "documents"})
    common_raw = raw.get("common") or {}
    check.unknown_keys(common_raw, {"fields", "values"}, "common")
    common_fields = {k: check.label(v, f"common.fields.{k}") for k, v in (common_raw.get("fields") or {}).items()}
    values = {**(common_raw.get("values") or {}), **(city.documents if city else {})}
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
        if city is not None and name in city.series:
            spec = {**spec, "series": city.series[name]}
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


def catalog() -> DocumentCatalog:
    """The documents with the texts and series of the city profile in use."""
    return catalog_for(profile())


@cache
def catalog_for(city: Profile) -> DocumentCatalog:
    return load_catalog(city=city)


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Jinja for templates the office uploads: sandboxed (no attribute of Python's internals, no method that
    changes a value), and no huge text or number made with * or **."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and not (isinstance(right, int | float) and abs(right) <= 100):
            raise SecurityError("power too large")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int) and count * len(seq) > MAX_REPEAT:
                    raise SecurityError("repetition too long")
        return super().call_binop(context, operator, left, right)


def syntax_problem(exc: jinja2.TemplateSyntaxError, source: str) -> TemplateProblem:
    """What is wrong with a tag, in words for the office, with the text of the paragraph it is in."""
    lines = source.splitlines()
    near = ""
    for index in (exc.lineno - 1, exc.lineno - 2, exc.lineno):  # its paragraph, else the ones around it
        if 0 <= index < len(lines):
            near = re.sub(r"<[^>]+>", "", lines[index]).strip()
            if near:
                break
    where_zh, where_en = (f"，在“{near[:80]}”附近", f" near '{near[:80]}'") if near else ("", "")
    message = exc.message or ""
    innermost = re.search(r"innermost block that needs to be closed is '(\w+)'", message)
    unknown = re.match(r"Encountered unknown tag '(\w+)'", message)
    missing = re.match(r"No (filter|test) named '([^']+)'", message)
    if message.startswith("Unexpected end of template") and innermost:
        block = innermost.group(1)
        return TemplateProblem(f"{{% {block} %}} 标记缺少对应的 {{% end{block} %}}。",
                               f"A {{% {block} %}} tag has no matching {{% end{block} %}}.")
    if unknown:
        tag = unknown.group(1)
        extra_zh = f"（此处应为 {{% end{innermost.group(1)} %}}）" if innermost else ""
        extra_en = f" (expected {{% end{innermost.group(1)} %}})" if innermost else ""
        return TemplateProblem(f"标记 {{% {tag} %}} 无法识别或没有配对的开始标记{extra_zh}{where_zh}。",
                               f"The tag {{% {tag} %}} is unknown or has no opening tag{extra_en}{where_en}.")
    if missing:
        kind_zh = "过滤器" if missing.group(1) == "filter" else "判断"
        return TemplateProblem(f"模板使用了不存在的{kind_zh}“{missing.group(2)}”{where_zh}。",
                               f"The template uses an unknown {missing.group(1)} '{missing.group(2)}'{where_en}.")
    return TemplateProblem(f"模板标记书写有误（{message}）{where_zh}。请检查 {{{{ }}}} 和 {{% %}} 是否成对、完整。",
                           f"A template tag is wrong ({message}){where_en}. Check that {{{{ }}}} and {{% %}} "
                           f"are complete and paired.")


class CompiledTemplate:
    """A .docx template prepared once: its text parts cleaned by docxtpl and compiled by Jinja."""

    def __init__(self, content: bytes):
        self.content = content
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(content))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            raise TemplateProblem("文件不是 Word 文档（.docx）。", "The file is not a Word document (.docx).") from None
        names = [i.filename for i in infos]
        if "word/document.xml" not in names:
            raise TemplateProblem("文件不是 Word 文档（.docx）：缺少正文部分。",
                                  "The file is not a Word document (.docx): it has no body.")
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            raise TemplateProblem("文件含有宏，不能作为模板。请另存为不含宏的 Word 文档（.docx）。",
                                  "The file holds macros; save it as a Word document (.docx) without macros.")
        if sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise TemplateProblem("文件解压后过大，不能作为模板。", "The file is too large once unpacked.")
        env = TemplateEnvironment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        self.parts: dict[str, jinja2.Template] = {}
        self.variables: set[str] = set()
        try:
            self._docxtpl = DocxTemplate(io.BytesIO(content))  # its tag clean-up and line-break handling only
            sources = {name: self._docxtpl.patch_xml(self._zip.read(name).decode("utf-8"))
                       for name in names if FILLED_PARTS.fullmatch(name)}
        except Exception:  # python-docx and zipfile raise many kinds of error on a damaged package
            raise TemplateProblem("文件已损坏或不是有效的 Word 文档（.docx）。",
                                  "The file is damaged or not a valid Word document (.docx).") from None
        for name, source in sources.items():
            source = re.sub(r"<w:p([ >])", r"\n<w:p\1", source)
            try:
                self.variables |= meta.find_undeclared_variables(env.parse(source))
                self.parts[name] = env.from_string(source)
            except jinja2.TemplateSyntaxError as exc:
                raise syntax_problem(exc, source) from None
        self.variables.discard("loop")
        # The parts that never change are compressed once, into a package that each render appends to.
        self._filled_members = [(i.filename, i.date_time) for i in self._zip.infolist() if i.filename in self.parts]
        unchanged = io.BytesIO()
        try:
            with zipfile.ZipFile(unchanged, "w", zipfile.ZIP_DEFLATED) as target:
                for item in infos:
                    if item.filename not in self.parts:
                        target.writestr(zipfile.ZipInfo(item.filename, item.date_time),
                                        self._zip.read(item.filename), compress_type=zipfile.ZIP_DEFLATED)
        except Exception:  # a part that does not unpack (bad checksum, unknown compression)
            raise TemplateProblem("文件已损坏或不是有效的 Word 文档（.docx）。",
                                  "The file is damaged or not a valid Word document (.docx).") from None
        self._unchanged = unchanged.getvalue()

    def render(self, context: dict[str, Any]) -> bytes:
        filled = {}
        for name, template in self.parts.items():
            try:
                xml = template.render(context)
            except jinja2.UndefinedError as exc:
                raise TemplateProblem(f"模板使用了未知的字段（{exc.message}）。",
                                      f"The template uses an unknown field ({exc.message}).") from None
            except SecurityError:
                raise TemplateProblem("模板中有不允许的写法（标记中只能使用字段、条件和循环）。",
                                      "The template uses something not allowed (tags may only use fields, "
                                      "conditions and loops).") from None
            except Exception as exc:  # e.g. {{ town + 1 }} or {{ 1 / 0 }}: a tag that cannot be computed
                raise TemplateProblem(f"模板中的标记无法计算（{type(exc).__name__}：{exc}）。",
                                      f"A template tag cannot be computed ({type(exc).__name__}: {exc}).") from None
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


# --- the template in use: the office's active version (workflow.core.templates keeps them), else the shipped one

@cache
def shipped_key(name: str) -> str:
    return hashlib.sha256(shipped(name)).hexdigest()


def active_version(session: Session, name: str) -> DocumentTemplate | None:
    return session.exec(select(DocumentTemplate).where(DocumentTemplate.name == name,
                                                       col(DocumentTemplate.active).is_(True))
                        .order_by(col(DocumentTemplate.version).desc())).first()


def stored_template(row: DocumentTemplate) -> bytes:
    try:
        return stored_path(upload_root(), row.sha256).read_bytes()
    except FileNotFoundError:
        raise TemplateProblem(f"第 {row.version} 版模板的文件缺失，请联系系统管理员从备份中恢复。",
                              f"The file of version {row.version} is missing; the administrator restores it from "
                              f"the backup.") from None


def template_in_use(session: Session, name: str) -> tuple[bytes, str]:
    """(the template of `name` in use, its sha256); TemplateProblem when its file is missing."""
    row = active_version(session, name)
    if row is None:
        return shipped(name), shipped_key(name)
    if row.sha256 in _compiled:  # prepared already: the bytes are not read again
        return _compiled[row.sha256].content, row.sha256
    return stored_template(row), row.sha256


def render_with(content: bytes, key: str, name: str, fields: dict[str, Any], *, issued: date,
                draft: bool = False) -> bytes:
    """Fill the template `content` (sha256 `key`) of document `name`."""
    return compiled(content, key).render(context_for(name, fields, issued=issued, draft=draft))


def render_shipped(name: str, fields: dict[str, Any], *, issued: date, draft: bool = False) -> bytes:
    """Document `name` from the template the repository ships (for a document made outside a transaction)."""
    return render_with(shipped(name), shipped_key(name), name, fields, issued=issued, draft=draft)


def render(session: Session, name: str, fields: dict[str, Any], *, issued: date, draft: bool = False) -> bytes:
    """Document `name` filled with `fields`, from the template in use (the office's active version, else the
    shipped one); a draft is watermarked 草稿."""
    try:
        content, key = template_in_use(session, name)
        return render_with(content, key, name, fields, issued=issued, draft=draft)
    except TemplateProblem as exc:
        # A version that passed its check with the sample may still fail with a case's data (a field left empty,
        # fewer table rows): the step is refused with what to do, and the office restores a version that works.
        label = catalog().get(name).label
        raise Conflict(f"文书“{label.zh}”的模板无法使用：{exc.zh}"
                       f"请领导小组办公室在“文书模板”页面修正或恢复此前的版本。",
                       f"The template of the {label.en} cannot be used: {exc.en} The office corrects it or restores "
                       f"an earlier version on the page 'Document templates'.", code="template_failed") from None


def check_template(name: str, content: bytes) -> bytes:
    """Refuse a template that uses a field `name` does not have, or does not render with the sample; the sample
    rendered when it is fine."""
    docs = catalog()
    template = CompiledTemplate(content)
    unknown = sorted(template.variables - docs.allowed(name))
    if unknown:
        raise TemplateProblem(f"模板使用了该文书没有的字段：{'、'.join(unknown)}。",
                              f"The template uses fields this document does not have: {', '.join(unknown)}.")
    from docx import Document
    from docx.oxml import parse_xml

    sample = docs.get(name).sample
    # Issued and as a draft: a template may differ between the two ({% if draft %}).
    issued = template.render(context_for(name, sample, issued=date(2026, 11, 27), draft=False))
    rendered = template.render(context_for(name, sample, issued=date(2026, 11, 27), draft=True))
    for content in (issued, rendered):
        try:
            package = zipfile.ZipFile(io.BytesIO(content))
            for part in template.parts:  # every filled part must still be well-formed XML
                parse_xml(package.read(part))
            Document(io.BytesIO(content))
        except Exception as exc:  # lxml and python-docx raise many kinds of error on a broken package
            raise TemplateProblem(f"模板填充后不是有效的 Word 文档（{type(exc).__name__}），"
                                  f"可能是标记拆开了 Word 的格式，请把每个标记写在同一段文字中。",
                                  f"The filled template is not a valid Word document ({exc}); a tag may cut "
                                  f"through Word's formatting: keep each tag within one run of text.") from None
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
