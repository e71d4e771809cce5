"""Documents from .docx templates: the catalog of documents and fields, the GB/T 9704 furniture every notice
carries (版记, page numbers, the 草稿 watermark of a draft), and what a value may hold."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from datetime import date

import pytest
from docx import Document

from workflow.core.definitions import DEFINITIONS_DIR
from workflow.core.documents import (
    CatalogError,
    CompiledTemplate,
    TemplateProblem,
    catalog,
    check_template,
    load_catalog,
    render_shipped,
)

ISSUED = date(2026, 11, 27)


def parts(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return {n: package.read(n).decode("utf-8") for n in package.namelist() if n.endswith(".xml")}


def sample(name: str, **changes) -> dict:
    return {**catalog().get(name).sample, **changes}


@pytest.mark.parametrize("name", sorted(catalog().documents))
def test_every_shipped_template_renders_its_sample_with_every_field_filled(name):
    content = render_shipped(name, sample(name), issued=ISSUED)
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    xml = "".join(parts(content).values())
    assert "{{" not in xml and "{%" not in xml  # every tag was filled or dropped
    for field, value in catalog().get(name).sample.items():
        if isinstance(value, str) and value and field != "rows":
            assert value in xml, f"{name}: {field} is not in the document"
    assert catalog().common["issuing_body"] in text or catalog().common["office"] in text


@pytest.mark.parametrize("name", ["designation_notice", "criticism_notice", "rectification_notice", "praise_notice",
                                  "recommendation_letter"])
def test_a_notice_carries_the_colophon_and_page_numbers_on_odd_and_even_pages(name):
    content = render_shipped(name, sample(name), issued=date(2026, 12, 3))
    xml = parts(content)
    doc = Document(io.BytesIO(content))
    assert doc.paragraphs[-1].text == "抄送：" + catalog().common["cc"]
    assert [c.text for c in doc.tables[-1].rows[0].cells] == [catalog().common["printed_by"], "2026年12月3日印发"]
    assert "<w:evenAndOddHeaders" in xml["word/settings.xml"]
    footers = [body for part, body in xml.items() if part.startswith("word/footer")]
    assert len(footers) == 2
    for footer in footers:
        assert "PAGE" in footer and "— " in footer and " —" in footer
    aligned = sorted(re.search(r'<w:jc w:val="(\w+)"/>', f).group(1) for f in footers)
    assert aligned == ["left", "right"]  # odd pages at the right, even pages at the left
    fonts = xml["word/fontTable.xml"]
    assert '<w:font w:name="方正小标宋简体"><w:altName w:val="宋体"/>' in fonts
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>' in fonts


def test_a_draft_is_watermarked_and_an_issued_notice_is_not():
    draft = parts(render_shipped("criticism_notice", sample("criticism_notice"), issued=ISSUED, draft=True))
    issued = parts(render_shipped("criticism_notice", sample("criticism_notice"), issued=ISSUED))
    headers = lambda xml: "".join(v for k, v in xml.items() if k.startswith("word/header"))  # noqa: E731
    assert headers(draft).count('string="草稿"') == 2  # odd and even pages
    assert "草稿" not in headers(issued)


def test_a_draft_number_leaves_the_blank_the_issued_one_fills():
    spec = catalog().get("rectification_notice")
    assert spec.number(2026, None) == "阳专镇改〔2026〕　　号"
    assert spec.number(2026, 12) == "阳专镇改〔2026〕12号"
    with pytest.raises(ValueError, match="no number series"):
        catalog().get("opinion_sheet").number(2026, 1)


def test_values_are_text_not_markup_and_a_newline_is_a_line_break():
    content = render_shipped("criticism_notice", sample("criticism_notice", facts="A & B <w:p> 第一条\n第二条"),
                             issued=ISSUED)
    body = parts(content)["word/document.xml"]
    assert "A &amp; B &lt;w:p&gt; 第一条</w:t><w:br/><w:t xml:space=\"preserve\">第二条" in body
    paragraphs = [p.text for p in Document(io.BytesIO(content)).paragraphs]
    assert "主要问题：A & B <w:p> 第一条\n第二条" in paragraphs


def test_a_value_left_empty_drops_its_clause():
    with_output = render_shipped("designation_notice", sample("designation_notice"), issued=ISSUED)
    without = render_shipped("designation_notice", sample("designation_notice", output=""), issued=ISSUED)
    assert "上年主导产业产值12.50亿元" in parts(with_output)["word/document.xml"]
    assert "上年主导产业产值" not in parts(without)["word/document.xml"]
    body = "\n".join(p.text for p in Document(io.BytesIO(without)).paragraphs)
    assert "梁家寨乡的主导产业为耐火材料（制造业）。认定日期为2026年11月27日。" in body


def test_the_opinion_sheet_repeats_its_table_row_per_unit():
    rows = [{"unit": f"单位{i}", "answer": "同意", "reason": "", "by": "张三", "date": "2026-11-27"} for i in range(5)]
    content = render_shipped("opinion_sheet", sample("opinion_sheet", rows=rows), issued=ISSUED)
    table = Document(io.BytesIO(content)).tables[0]
    assert [row.cells[0].text for row in table.rows] == ["序号", "1", "2", "3", "4", "5"]
    assert [row.cells[1].text for row in table.rows][1:] == [f"单位{i}" for i in range(5)]


def test_fields_a_service_passes_must_be_the_documents_own():
    with pytest.raises(ValueError, match=r"unknown fields \['twon'\], missing fields \['town'\]"):
        fields = sample("designation_notice")
        fields["twon"] = fields.pop("town")
        render_shipped("designation_notice", fields, issued=ISSUED)


def _edited(name: str, old: str, new: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO((DEFINITIONS_DIR / "templates" / f"{name}.docx").read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode())
            target.writestr(item, data)
    return out.getvalue()


def test_a_template_is_checked_before_it_is_used():
    good = _edited("designation_notice", "特此通知。", "特此通知，请遵照执行。")
    assert "特此通知，请遵照执行。" in parts(check_template("designation_notice", good))["word/document.xml"]

    cases = {
        "unknown field": (_edited("designation_notice", "{{ town }}的主导产业", "{{ twon }}的主导产业"),
                          "模板使用了该文书没有的字段：twon。"),
        "broken tag": (_edited("designation_notice", "特此通知。", "{% if town %}特此通知。"),
                       "{% if %} 标记缺少对应的 {% endif %}。"),
        "not a docx": (b"%PDF-1.7 not a template", "文件不是 Word 文档（.docx）。"),
    }
    for label, (content, message) in cases.items():
        with pytest.raises(TemplateProblem) as refused:
            check_template("designation_notice", content)
        assert refused.value.zh.startswith(message), label


def test_a_template_is_prepared_once_and_rendered_many_times_alike():
    template = CompiledTemplate((DEFINITIONS_DIR / "templates" / "criticism_notice.docx").read_bytes())
    context = {**catalog().common, "printed_date": "2026年11月27日", "draft": False, **sample("criticism_notice")}
    first, second = template.render(context), template.render({**context, "county": "矿区"})
    assert parts(first)["word/styles.xml"] == parts(second)["word/styles.xml"]
    assert "矿区" in parts(second)["word/document.xml"] and "矿区" not in parts(first)["word/document.xml"]
    assert template.variables >= {"number", "county", "town", "facts", "draft", "cc"}


def _broken_catalog(tmp_path, edit) -> list[str]:
    shutil.copytree(DEFINITIONS_DIR / "templates", tmp_path / "templates")
    text = (DEFINITIONS_DIR / "documents.yaml").read_text(encoding="utf-8")
    path = tmp_path / "documents.yaml"
    path.write_text(edit(text), encoding="utf-8")
    with pytest.raises(CatalogError) as broken:
        load_catalog(path, tmp_path / "templates")
    return broken.value.lines


def test_a_broken_catalog_is_refused_with_every_problem_named(tmp_path):
    lines = _broken_catalog(tmp_path, lambda t: t
                            .replace("      review: 2029年11月27日\n", "", 1)
                            .replace("    file: criticism_notice.docx", "    file: criticism.docx")
                            .replace("      case_number: RD-2026-0001\n      issued: 2026年11月27日\n",
                                     "      case_number: RD-2026-0001\n      issued: 2026年11月27日\n"
                                     "      mayor: 张三\n", 1))
    assert lines == [
        "documents.yaml: documents.designation_notice.sample: has no value for field review",
        "documents.yaml: documents.criticism_notice.file: no template file 'criticism.docx' in templates/",
        "documents.yaml: documents.publicity_announcement.sample.mayor: is not a field of the document",
    ]
    assert _broken_catalog(tmp_path / "2", lambda t: t.replace("    counter: criticism\n", "")) == [
        "documents.yaml: documents.criticism_notice: a numbered document needs both series and counter"]
