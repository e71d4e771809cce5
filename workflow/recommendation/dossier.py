"""The dossier sent to the province when the leader approves a round (推荐材料): per town its designation
application (the data and every file of it), its latest accepted statistics, its evaluations, the designation notice
and a numbered recommendation letter (推荐函, GB/T 9704 layout, definitions/documents.yaml `recommendation_letter`),
all in one .zip with a manifest (each file's path, town, kind and sha256). The letters are kept on the round and on
each town; the .zip on the round."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.attachments import DOCX, get_attachment, store_bytes, stored_path, upload_root
from workflow.core.documents import catalog, cn_date, industry_text, render
from workflow.core.engine import FireContext, next_number
from workflow.core.evaluations import evaluation_history
from workflow.core.models import Attachment, Case, Town, Unit
from workflow.core.queries import registry_case
from workflow.core.reasons import parse_date
from workflow.recommendation.criteria import latest_statistics

LETTER = "recommendation_letter"
ZIP = "application/zip"
ADDRESSEE = "山西省工业和信息化厅："  # the province's department for professional towns


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")


def _sentence_statistics(stats: Any) -> str:
    if stats is None or stats.output_yi is None:
        return ""
    return f"{stats.year}年主导产业产值 {stats.output_yi:g} 亿元。"


def _sentence_evaluation(history: list[Any]) -> str:
    if not history:
        return ""
    latest = history[0]
    rank = f"，全市排名第 {latest.rank} 位" if latest.rank is not None else ""
    return f"{latest.year}年度专业镇评价总分 {latest.total} 分（满分 {latest.max_points} 分）{rank}。"


def letter_fields(*, number: str, town: Town, county: str, record: Case, application: Case | None,
                  stats: Any, history: list[Any], round_name: str, issued: Any) -> dict[str, Any]:
    """The recommendation letter's fields for one town."""
    data = record.data or {}
    designated = parse_date(data.get("designated_date"))
    source = application.data if application is not None else {"industry_category": town.industry_category,
                                                                  "leading_industry": town.leading_industry}
    return {"number": number, "title": f"关于推荐{county}{town.name}申报省级专业镇的函", "addressee": ADDRESSEE,
            "county": county, "town": town.name, "industry": industry_text(source),
            "designated": cn_date(designated) if designated else "", "designation_number":
            str(data.get("designation_number") or ""), "statistics": _sentence_statistics(stats),
            "evaluation": _sentence_evaluation(history), "round": round_name, "issued": cn_date(issued)}


class _Zip:
    """The .zip being written and its manifest."""

    def __init__(self, when: datetime):
        self.buffer = io.BytesIO()
        self.zip = zipfile.ZipFile(self.buffer, "w", zipfile.ZIP_DEFLATED)
        self.stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
        self.entries: list[dict[str, Any]] = []
        self.paths: set[str] = set()

    def add(self, path: str, data: bytes, *, town: Town | None, kind: str) -> None:
        base, dot, ext = path.rpartition(".")
        n = 1
        while path in self.paths:  # two files of one name in a town's folder
            n += 1
            path = f"{base}-{n}.{ext}" if dot else f"{path}-{n}"
        self.paths.add(path)
        self.zip.writestr(zipfile.ZipInfo(path, self.stamp), data, zipfile.ZIP_DEFLATED)
        self.entries.append({"path": path, "town_id": town.id if town else None, "town": town.name if town else None,
                             "kind": kind, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})

    def close(self, header: dict[str, Any]) -> bytes:
        self.zip.writestr(zipfile.ZipInfo("manifest.json", self.stamp), _json({**header, "files": self.entries}),
                          zipfile.ZIP_DEFLATED)
        self.zip.close()
        return self.buffer.getvalue()


def _read(row: Attachment) -> bytes:
    return stored_path(upload_root(), row.sha256).read_bytes()


def assemble(ctx: FireContext, towns: list[int]) -> dict[str, Any]:
    """The letters (numbered, stored on the round and on each town) and the dossier .zip on the round."""
    session, spec = ctx.session, catalog().get(LETTER)
    assert spec.counter is not None  # documents.yaml numbers the letter by the counter `recommendation`
    round_name = f"{ctx.data.get('recommendation_year')}年第{ctx.data.get('batch_no')}批"
    bundle = _Zip(ctx.now)
    letters: dict[str, dict[str, Any]] = {}
    for town_id in towns:
        town = session.get(Town, town_id)
        record = registry_case(session, town_id)
        assert town is not None and record is not None
        county = session.get(Unit, town.county_id)
        folder = f"{town.name}-{town_id}"
        designation_id = (record.data or {}).get("designation_case_id")
        application = session.get(Case, designation_id) if isinstance(designation_id, int) else None
        stats = latest_statistics(session, town_id)
        history = evaluation_history(session, town_id)
        number = spec.number(ctx.today.year, next_number(session, spec.counter, ctx.today.year))
        content = render(session, LETTER, letter_fields(
            number=number, town=town, county=county.name if county else "", record=record,
            application=application, stats=stats, history=history, round_name=round_name, issued=ctx.today),
            issued=ctx.today)
        for where in ({"case_id": ctx.case.id}, {"town_id": town_id}):
            stored = store_bytes(session=session, actor=ctx.actor, data=content, filename=f"{number}.docx",
                                 content_type=DOCX, kind=LETTER, now=ctx.now, **where)
        letters[str(town_id)] = {"number": number, "attachment_id": stored.id}
        bundle.add(f"{folder}/推荐函-{number}.docx", content, town=town, kind=LETTER)
        if application is not None:
            bundle.add(f"{folder}/认定申请/申请数据.json", _json({"number": application.number,
                                                             "title": application.title, "data": application.data}),
                       town=town, kind="designation_application")
            for row in session.exec(select(Attachment).where(Attachment.case_id == application.id)
                                    .order_by(col(Attachment.id))).all():
                kind = "designation_notice" if row.kind == "designation_notice" else "application_attachment"
                if kind == "designation_notice":
                    continue  # the notice has its own place below
                bundle.add(f"{folder}/认定申请/{row.filename}", _read(row), town=town, kind=kind)
        notice = session.exec(select(Attachment).where(Attachment.kind == "designation_notice",
                                                       Attachment.town_id == town_id)
                              .order_by(col(Attachment.id).desc())).first()
        if notice is not None:
            bundle.add(f"{folder}/认定通知-{notice.filename}", _read(notice), town=town, kind="designation_notice")
        if stats is not None:
            bundle.add(f"{folder}/年度统计-{stats.year}.json", _json({"year": stats.year, "output_yi": stats.output_yi,
                                                                   "figures": stats.figures}),
                       town=town, kind="statistics")
        if history:
            bundle.add(f"{folder}/年度评价.json", _json([{"year": h.year, "total": str(h.total),
                                                       "max_points": str(h.max_points), "rank": h.rank}
                                                      for h in history]), town=town, kind="evaluation")
    data = bundle.close({"round": ctx.case.number, "title": ctx.case.title, "approved_at": ctx.now.isoformat(),
                         "towns": towns})
    dossier = store_bytes(session=session, actor=ctx.actor, data=data, filename=f"{ctx.case.number}-推荐材料.zip",
                          content_type=ZIP, kind="recommendation_dossier", now=ctx.now, case_id=ctx.case.id)
    return {"letters": letters, "dossier_id": dossier.id}


def dossier_file(session: Session, *, actor: Actor, case: Case, now: datetime) -> tuple[Attachment, Any]:
    """The round's dossier for the office or the leader (NotFound otherwise, or before approval), audited."""
    from workflow.core.errors import NotFound

    dossier_id = (case.data or {}).get("dossier_id")
    if actor.role not in ("office", "leader") or not isinstance(dossier_id, int):
        raise NotFound("推荐材料尚未生成", "the dossier has not been made yet", code="not_found")
    row, path = get_attachment(session=session, actor=actor, attachment_id=dossier_id)
    audit.record(session, kind="dossier_downloaded", now=now, actor=actor, case_id=case.id, county_id=case.county_id,
                 data={"attachment_id": row.id, "sha256": row.sha256})
    return row, path
