from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlmodel import col, select

from webapp.auth.current import actor
from webapp.database import db
from webapp.errors import message_of
from webapp.towns import bp
from workflow.core.catalog import CATALOG
from workflow.core.errors import WorkflowError
from workflow.core.models import Attachment, Unit, UnitKind
from workflow.core.pdf import with_pdfs
from workflow.core.queries import Page
from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.towns.registry_view import tiers, town_entries, town_entry


def _int(name: str, default: int = 0) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 9 else default


@bp.route("/towns")
@login_required
def index() -> ResponseReturnValue:
    levels = CATALOG.current("town").states
    level = request.args.get("level") if request.args.get("level") in levels else None
    category = request.args.get("category") if request.args.get("category") in INDUSTRY_CATEGORIES else None
    tier = request.args.get("tier") if request.args.get("tier") in {t.key for t in tiers()} else None
    counties = db().exec(select(Unit).where(Unit.kind == UnitKind.county.value).order_by(col(Unit.id))).all()
    context = {"counties": counties, "levels": levels, "categories": INDUSTRY_CATEGORIES, "tiers": tiers()}
    try:
        page = town_entries(db(), actor(), county_id=_int("county") or None, level=level, industry_category=category,
                            tier=tier, q=request.args.get("q"), page=_int("page", 1))
    except WorkflowError as exc:  # a search of more than 100 characters
        return render_template("towns/index.html", page=Page([], 0, 1, 20), error=message_of(exc),
                               **context), exc.status
    return render_template("towns/index.html", page=page, error=None, **context)


@bp.route("/towns/<int:town_id>")
@login_required
def show(town_id: int) -> ResponseReturnValue:
    entry, cases = town_entry(db(), actor(), town_id)
    documents, pdfs = with_pdfs(db(), db().exec(select(Attachment).where(Attachment.town_id == town_id)
                                               .order_by(Attachment.id)).all())  # type: ignore[arg-type]  # SQLModel types a column as its Python value, not a SQL expression
    return render_template("towns/show.html", entry=entry, cases=cases, documents=documents, pdfs=pdfs,
                           levels=CATALOG.current("town").states, categories=INDUSTRY_CATEGORIES)
