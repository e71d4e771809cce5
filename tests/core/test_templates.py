"""The office's own versions of the document templates (workflow.core.templates): an edited copy of a shipped
template, uploaded with a note, is checked, kept as the next version and used by the next notice; earlier versions
and the shipped template can be put back; what fails its check is refused with a message the office can act on,
and leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date

import pytest
from docxedit import edited, text_of
from sqlmodel import col, func, select

from workflow.core import templates
from workflow.core.attachments import store_file, stored_path, upload_root
from workflow.core.db import transaction
from workflow.core.documents import catalog, render, shipped
from workflow.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from workflow.core.models import AuditEvent, DocumentTemplate

NOTICE = "designation_notice"
ISSUED = date(2026, 12, 1)
SHIPPED_PHRASE = "特此通知。"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def sample_fields(name: str = NOTICE) -> dict:
    return dict(catalog().get(name).sample)


def notice_text(db, name: str = NOTICE, fields: dict | None = None) -> str:
    """The body of the next notice `name` the system makes."""
    with transaction(db) as s:
        return text_of(render(s, name, fields or sample_fields(name), issued=ISSUED))


@pytest.fixture
def office(make):
    return make.actor(make.user("office", username="office_clerk"))


@pytest.fixture
def upload(db, now, office):
    def upload(data: bytes, *, note: str = "改写结尾用语", filename: str = "认定通知.docx", name: str = NOTICE,
               actor=None) -> DocumentTemplate:
        with transaction(db) as s:
            return templates.upload(s, actor=actor or office, name=name, filename=filename, data=data, note=note,
                                    now=now)

    return upload


@pytest.fixture
def restore(db, now, office):
    def restore(version: int | None, *, name: str = NOTICE, actor=None) -> None:
        with transaction(db) as s:
            templates.restore(s, actor=actor or office, name=name, version=version, now=now)

    return restore


def in_use(db, office, name: str = NOTICE) -> templates.TemplateStatus:
    with transaction(db) as s:
        return next(t for t in templates.status(s, office) if t.name == name)


def events(db, kind: str) -> list[tuple[AuditEvent, dict]]:
    """The audit events of `kind`, each with its data."""
    with transaction(db) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)).all()
    return [(e, json.loads(e.data)) for e in rows]


def stored_rows(db) -> int:
    with transaction(db) as s:
        return s.exec(select(func.count()).select_from(DocumentTemplate)).one()


# --- replacing, keeping, restoring ------------------------------------------------------------------------------


def test_an_edited_copy_uploaded_by_the_office_is_version_1_and_the_next_notice_uses_it(db, now, upload, office):
    assert SHIPPED_PHRASE in notice_text(db)
    row = upload(edited(SHIPPED_PHRASE, "特此通知，请认真贯彻落实。"), note="结尾增加落实要求")

    assert (row.version, row.active, row.note, row.filename) == (1, True, "结尾增加落实要求", "认定通知.docx")
    body = notice_text(db)
    assert "特此通知，请认真贯彻落实。" in body
    assert "梁家寨乡" in body  # still filled with the case's fields
    status = in_use(db, office)
    assert status.in_use is not None and status.in_use.version == 1
    assert status.uploaders == {row.uploaded_by_id: "office用户"}
    assert status.in_use.uploaded_at == now


def test_the_other_documents_keep_their_shipped_templates(db, upload, office):
    upload(edited(SHIPPED_PHRASE, "特此通知，请认真贯彻落实。"))

    with transaction(db) as s:
        listed = {t.name: t for t in templates.status(s, office)}
    assert set(listed) == set(catalog().documents)
    assert listed[NOTICE].in_use is not None
    assert all(t.in_use is None and t.versions == [] for n, t in listed.items() if n != NOTICE)


def test_the_previous_version_is_kept_and_restore_goes_back_to_the_shipped_template_or_to_a_version(
        db, upload, restore, office):
    first = edited(SHIPPED_PHRASE, "第一版结尾。")
    upload(first, note="第一次修改")
    upload(edited(SHIPPED_PHRASE, "第二版结尾。"), note="第二次修改")
    assert "第二版结尾。" in notice_text(db)
    status = in_use(db, office)
    assert [(v.version, v.active, v.note) for v in status.versions] == [(2, True, "第二次修改"),
                                                                        (1, False, "第一次修改")]

    restore(None)
    body = notice_text(db)
    assert SHIPPED_PHRASE in body and "第一版" not in body and "第二版" not in body
    assert in_use(db, office).in_use is None
    assert [v.version for v in in_use(db, office).versions] == [2, 1]  # nothing is deleted

    restore(1)
    assert "第一版结尾。" in notice_text(db)
    assert in_use(db, office).in_use.version == 1
    with transaction(db) as s:
        assert templates.download(s, actor=office, name=NOTICE, version=1) == ("认定通知（模板第1版）.docx", first)
        assert templates.download(s, actor=office, name=NOTICE, version=None) == ("认定通知（系统自带模板）.docx",
                                                                                  shipped(NOTICE))


def test_a_new_upload_after_a_restore_takes_the_next_number(db, upload, restore, office):
    upload(edited(SHIPPED_PHRASE, "第一版结尾。"))
    upload(edited(SHIPPED_PHRASE, "第二版结尾。"))
    restore(1)
    row = upload(edited(SHIPPED_PHRASE, "第三版结尾。"))
    assert row.version == 3
    assert [(v.version, v.active) for v in in_use(db, office).versions] == [(3, True), (2, False), (1, False)]
    assert "第三版结尾。" in notice_text(db)


def test_the_sample_is_the_template_in_use_filled_with_the_sample_case_as_a_draft(db, upload, office):
    upload(edited(SHIPPED_PHRASE, "示例结尾。"))
    with transaction(db) as s:
        content = templates.sample(s, actor=office, name=NOTICE, today=ISSUED)
    assert "示例结尾。" in text_of(content)
    assert "关于认定盂县梁家寨乡为市级专业镇的通知" in text_of(content)
    assert 'string="草稿"' in zipfile.ZipFile(io.BytesIO(content)).read("word/header1.xml").decode()


def test_a_template_may_use_the_citys_common_fields_and_its_own_conditions(db, upload):
    upload(edited(SHIPPED_PHRASE, "特此通知{% if county %}（{{ county }}）{% endif %}。联系：{{ office }}"))
    assert "特此通知（盂县）。联系：阳泉市专业镇高质量发展领导小组办公室" in notice_text(db)


# --- the audit trail --------------------------------------------------------------------------------------------


def test_every_upload_and_restore_is_in_the_audit_trail(db, upload, restore, office):
    upload(edited(SHIPPED_PHRASE, "第一版结尾。"), note="第一次修改", filename="我的认定通知.docx")
    upload(edited(SHIPPED_PHRASE, "第二版结尾。"), note="第二次修改")
    restore(None)
    restore(1)

    replaced = events(db, "template_replaced")
    assert [(d["document"], d["version"], d["previous"], d["note"]) for _, d in replaced] == [
        (NOTICE, 1, None, "第一次修改"), (NOTICE, 2, 1, "第二次修改")]
    assert replaced[0][1]["filename"] == "我的认定通知.docx"
    assert all(e.actor_id == office.user_id and e.role == "office" for e, _ in replaced)
    restored = events(db, "template_restored")
    assert [(d["document"], d["version"], d["previous"]) for _, d in restored] == [(NOTICE, None, 2), (NOTICE, 1, None)]
    assert all(e.actor_id == office.user_id for e, _ in restored)


# --- refusals ---------------------------------------------------------------------------------------------------

WRONG = [
    pytest.param(lambda: edited(SHIPPED_PHRASE, "新结尾。"), "认定通知.pdf",
                 "请上传 Word 文档（.docx）。WPS 用户请“另存为”Word 文档（.docx）格式。", id="named-pdf"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "新结尾。"), "认定通知.doc",
                 "请上传 Word 文档（.docx）。WPS 用户请“另存为”Word 文档（.docx）格式。", id="named-doc"),
    pytest.param(lambda: PDF, "认定通知.docx", "模板未通过检查：文件不是 Word 文档（.docx）。", id="pdf-content"),
    pytest.param(lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "认定通知.docx",
                 "模板未通过检查：文件不是 Word 文档（.docx）。", id="old-doc-renamed"),
    pytest.param(lambda: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
                 "认定通知.docx", "模板未通过检查：文件不是 Word 文档（.docx）：缺少正文部分。", id="xlsx-content"),
    pytest.param(lambda: b"", "认定通知.docx", "文件为空。", id="empty"),
    pytest.param(lambda: b"", "", "请选择要上传的模板文件（.docx）。", id="no-file"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "特此通知{{ twon }}。"), "认定通知.docx",
                 "模板未通过检查：模板使用了该文书没有的字段：twon。", id="unknown-field"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "{% if town %}特此通知。"), "认定通知.docx",
                 "模板未通过检查：{% if %} 标记缺少对应的 {% endif %}。", id="if-without-endif"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "特此通知。{% endfor %}"), "认定通知.docx",
                 "模板未通过检查：标记 {% endfor %} 无法识别或没有配对的开始标记，在“特此通知。{% endfor %}”附近。",
                 id="endfor-alone"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "特此通知{{ town }。"), "认定通知.docx",
                 "模板未通过检查：模板标记书写有误（unexpected '}'），在“特此通知{{ town }。{{ issuing_body }}”附近。"
                 "请检查 {{ }} 和 {% %} 是否成对、完整。", id="broken-braces"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "特此通知{{ town|shout }}。"), "认定通知.docx",
                 "模板未通过检查：模板使用了不存在的过滤器“shout”，在“特此通知{{ town|shout }}。”附近。",
                 id="unknown-filter"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "{{ ''.__class__.__mro__ }}"), "认定通知.docx",
                 "模板未通过检查：模板中有不允许的写法（标记中只能使用字段、条件和循环）。", id="python-internals"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "{{ '—' * 100000000 }}"), "认定通知.docx",
                 "模板未通过检查：模板中有不允许的写法（标记中只能使用字段、条件和循环）。", id="huge-text"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "{{ town + 1 }}"), "认定通知.docx",
                 "模板未通过检查：模板中的标记无法计算（TypeError：can only concatenate str (not \"int\") to str）。",
                 id="cannot-compute"),
    pytest.param(lambda: edited(SHIPPED_PHRASE, "特此通知。", extra={"word/vbaProject.bin": b"macro"}),
                 "认定通知.docx", "模板未通过检查：文件含有宏，不能作为模板。请另存为不含宏的 Word 文档（.docx）。",
                 id="macros"),
]


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("make_data", "filename", "message"), WRONG)
def test_a_template_that_fails_its_check_is_refused_with_its_reason_and_nothing_changes(
        db, upload, office, make_data, filename, message):
    kept = upload(edited(SHIPPED_PHRASE, "现行版本结尾。"))
    data = make_data()

    with pytest.raises(Unprocessable) as refused:
        upload(data, filename=filename)

    assert refused.value.zh == message
    assert refused.value.details == [{"field": "file", "zh": message, "en": refused.value.en}]
    assert stored_rows(db) == 1
    assert in_use(db, office).in_use.version == kept.version
    assert "现行版本结尾。" in notice_text(db)
    assert len(events(db, "template_replaced")) == 1
    if data:
        assert not stored_path(upload_root(), hashlib.sha256(data).hexdigest()).exists()


@pytest.mark.parametrize(("note", "message"), [
    ("", "请说明本次修改的内容（如“更换红头”）。"),
    ("  \n\t ", "请说明本次修改的内容（如“更换红头”）。"),
    ("改" * 501, "修改说明不能超过 500 字。"),
])
def test_an_upload_without_a_note_saying_what_changed_is_refused(db, upload, office, note, message):
    with pytest.raises(Unprocessable) as refused:
        upload(edited(SHIPPED_PHRASE, "新结尾。"), note=note)
    assert refused.value.zh == message
    assert refused.value.details[0]["field"] == "note"
    assert stored_rows(db) == 0
    assert events(db, "template_replaced") == []


def test_the_note_is_kept_on_one_line_without_control_characters(db, upload):
    row = upload(edited(SHIPPED_PHRASE, "新结尾。"), note=" 更换\n红头\x00 ")
    assert row.note == "更换 红头"


def test_the_same_file_as_the_template_in_use_is_not_a_new_version(db, upload):
    with pytest.raises(Conflict) as same:
        upload(shipped(NOTICE))
    assert same.value.zh == "上传的文件与正在使用的模板完全相同，无需替换。"
    copy = edited(SHIPPED_PHRASE, "新结尾。")
    upload(copy)
    with pytest.raises(Conflict):
        upload(copy)
    assert stored_rows(db) == 1


def test_an_uploaded_template_is_checked_against_its_own_document(db, upload):
    # {{ rows }} belongs to the opinion sheet, not to the designation notice
    with pytest.raises(Unprocessable) as refused:
        upload(edited(SHIPPED_PHRASE, "{{ rows }}"))
    assert refused.value.zh == "模板未通过检查：模板使用了该文书没有的字段：rows。"


@pytest.mark.parametrize("role", ["county", "member", "leader", "admin", "auditor"])
def test_only_the_office_manages_the_templates(make, db, now, upload, restore, role):
    someone = make.actor(make.user(role))
    data = edited(SHIPPED_PHRASE, "新结尾。")
    with pytest.raises(Forbidden) as refused:
        upload(data, actor=someone)
    assert refused.value.zh == "只有领导小组办公室可以管理文书模板。"
    with pytest.raises(Forbidden):
        restore(None, actor=someone)
    with transaction(db) as s, pytest.raises(Forbidden):
        templates.status(s, someone)
    with transaction(db) as s, pytest.raises(Forbidden):
        templates.download(s, actor=someone, name=NOTICE, version=None)
    with transaction(db) as s, pytest.raises(Forbidden):
        templates.sample(s, actor=someone, name=NOTICE, today=ISSUED)
    assert stored_rows(db) == 0
    assert events(db, "template_replaced") == events(db, "template_restored") == []


def test_an_unknown_document_or_version_is_not_found(db, upload, restore, office):
    with pytest.raises(NotFound) as missing:
        upload(edited(SHIPPED_PHRASE, "新结尾。"), name="no_such_notice")
    assert missing.value.zh == "没有这种文书。"
    with pytest.raises(NotFound) as no_version:
        restore(1)
    assert no_version.value.zh == "该模板版本不存在。"
    with transaction(db) as s, pytest.raises(NotFound):
        templates.download(s, actor=office, name=NOTICE, version=7)
    assert events(db, "template_restored") == []


# --- versions that no longer work --------------------------------------------------------------------------------


def _stored_version(db, now, office, data: bytes, *, version: int = 1, active: bool = False) -> None:
    """A version kept from before (e.g. uploaded when the document had other fields), written directly."""
    sha256 = store_file(data)
    with transaction(db) as s:
        s.add(DocumentTemplate(name=NOTICE, version=version, sha256=sha256, filename="旧版.docx", size=len(data),
                               active=active, note="旧版本", uploaded_by_id=office.user_id, uploaded_at=now))


def test_a_version_that_no_longer_passes_the_check_is_not_restored(db, now, office, restore):
    _stored_version(db, now, office, edited(SHIPPED_PHRASE, "{{ approval_date }}"))
    with pytest.raises(Conflict) as refused:
        restore(1)
    assert refused.value.zh == "第 1 版模板不能再使用：模板使用了该文书没有的字段：approval_date。"
    assert in_use(db, office).in_use is None
    assert events(db, "template_restored") == []


def test_a_version_whose_file_is_missing_is_refused_rather_than_breaking_every_notice(db, now, office, restore):
    _stored_version(db, now, office, edited(SHIPPED_PHRASE, "旧版结尾。"))
    with transaction(db) as s:
        sha256 = s.exec(select(DocumentTemplate.sha256)).one()
    stored_path(upload_root(), sha256).unlink()

    with pytest.raises(Conflict) as refused:
        restore(1)
    assert refused.value.zh == "第 1 版模板不能再使用：第 1 版模板的文件缺失，请联系系统管理员从备份中恢复。"
    with transaction(db) as s, pytest.raises(NotFound) as gone:
        templates.download(s, actor=office, name=NOTICE, version=1)
    assert gone.value.zh == "第 1 版模板的文件缺失，请联系系统管理员从备份中恢复。"


def test_a_template_that_fails_with_a_cases_data_refuses_the_step_with_what_to_do(db, upload):
    # the sample has two opinions; a case with one has no second row
    upload(edited("{{ row.unit }}", "{{ row.unit }}（另见 {{ rows[1].unit }}）", name="opinion_sheet"),
           name="opinion_sheet", note="引用第二个单位")
    fields = {**sample_fields("opinion_sheet"), "rows": [sample_fields("opinion_sheet")["rows"][0]]}

    with transaction(db) as s, pytest.raises(Conflict) as refused:
        render(s, "opinion_sheet", fields, issued=ISSUED)
    assert refused.value.code == "template_failed"
    assert refused.value.zh.startswith("文书“会审意见汇总表”的模板无法使用：模板使用了未知的字段（")
    assert refused.value.zh.endswith("请领导小组办公室在“文书模板”页面修正或恢复此前的版本。")


def test_the_shipped_templates_all_pass_the_check_the_office_copies_must_pass():
    from workflow.core.documents import check_template

    for name in catalog().documents:
        assert check_template(name, shipped(name))


def test_only_one_version_is_ever_in_use(db, upload, restore):
    upload(edited(SHIPPED_PHRASE, "第一版结尾。"))
    upload(edited(SHIPPED_PHRASE, "第二版结尾。"))
    restore(1)
    restore(2)
    with transaction(db) as s:
        active = s.exec(select(DocumentTemplate.version).where(col(DocumentTemplate.active).is_(True))).all()
    assert active == [2]


def test_two_offices_uploading_at_once_get_consecutive_versions_and_one_in_use(db, now, office):
    """The second upload waits for the first to commit, then sees its version (no duplicate number, no 500)."""
    import threading
    import time

    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction(db) as s:
                templates.upload(s, actor=office, name=NOTICE, filename="甲.docx", now=now, note="甲",
                                 data=edited(SHIPPED_PHRASE, "甲版结尾。"))
                holding.set()
                release.wait(10)
        except BaseException as exc:  # reported below
            errors.append(exc)
            holding.set()

    def second() -> None:
        try:
            with transaction(db) as s:
                templates.upload(s, actor=office, name=NOTICE, filename="乙.docx", now=now, note="乙",
                                 data=edited(SHIPPED_PHRASE, "乙版结尾。"))
        except BaseException as exc:
            errors.append(exc)

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(10)
    two = threading.Thread(target=second)
    two.start()
    time.sleep(0.3)  # the second upload is waiting for the first
    release.set()
    one.join(20)
    two.join(20)
    assert errors == []
    with transaction(db) as s:
        rows = s.exec(select(DocumentTemplate.version, DocumentTemplate.note, DocumentTemplate.active)
                      .order_by(DocumentTemplate.version)).all()
    assert [tuple(r) for r in rows] == [(1, "甲", False), (2, "乙", True)]
    assert "乙版结尾。" in notice_text(db)
