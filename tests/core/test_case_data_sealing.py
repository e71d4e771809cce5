"""Personal data in a case's data (the keys definitions/visibility.yaml names `personal`: e-mail, mobile, address)
is stored encrypted in `case_file.data` under ZYZ_DATA_KEY and read back in clear by everything above the storage;
the audit trail records only that such a value was recorded or changed; the search index leaves it out;
`zyz keys rotate` re-encrypts it under a new key."""

from __future__ import annotations

import base64
import json
import re

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from conftest import api_headers, fail_sealing, login
from workflow.core import datakeys, keyrotation, search
from workflow.core.datakeys import DataKeyError, configure, parse_key
from workflow.core.db import transaction
from workflow.core.definitions import parse_definition
from workflow.core.engine import create_case, fire
from workflow.core.models import AuditEvent, Case
from workflow.core.visibility import CHANGED, WITHHELD, redacted_for_auditor, rules

SM4_KEY = "sm4:" + base64.b64encode(bytes(range(16))).decode()
AES_KEY = "aes:" + base64.b64encode(bytes(range(32))).decode()
MOBILE, ADDRESS, NEW_MOBILE = "13912345678", "盂县秀水镇府前街18号", "13887654321"
CONTACT = {"mobile": MOBILE, "address": ADDRESS, "contact_name": "王联络", "programme": "产业链提升"}

PROCESS = """
key: sealtest
version: 1
label: {zh: 个人信息测试, en: Personal data test}
create_roles: [county]
create_accepts: [mobile, address, contact_name, programme]
initial: open
states:
  open:
    label: {zh: 办理中, en: Open}
  done:
    label: {zh: 完成, en: Done}
    final: true
transitions:
  - {trigger: update, label: {zh: 更新, en: Update}, source: open, dest: open, roles: [county],
     accepts: [mobile, address, contact_name]}
  - {trigger: finish, label: {zh: 完成, en: Finish}, source: open, dest: done, roles: [county]}
"""


@pytest.fixture
def sealtest(isolated_catalog, monkeypatch):
    """A process whose cases take contact details; it gives the search every value of its data."""
    isolated_catalog.add(parse_definition(PROCESS, "sealtest.yaml"))
    monkeypatch.setitem(search.CONTRIBUTORS, "sealtest", [lambda data: data.values()])


@pytest.fixture
def clerk(make):
    return make.user("county", county="盂县")


def new_case(db, make, now, clerk, data=CONTACT, town=None) -> Case:
    with transaction(db) as s:
        return create_case(session=s, definition_key="sealtest", actor=make.actor(clerk), now=now,
                           town_id=(town or make.town(county="盂县")).id, data=dict(data))


def raw(db, case_id: int) -> dict:
    """The case's data as stored, read with plain SQL as someone reading the database would see it."""
    with transaction(db) as s:
        stored = s.connection().exec_driver_sql(f"SELECT data FROM case_file WHERE id = {int(case_id)}").scalar_one()
    return stored if isinstance(stored, dict) else json.loads(stored)


def read(db, case_id: int) -> dict:
    with transaction(db) as s:
        return s.get(Case, case_id).data


def stored_text(db, case_id: int) -> str:
    return json.dumps(raw(db, case_id), ensure_ascii=False)


def test_the_personal_keys_are_those_visibility_yaml_names():
    assert rules().personal == {"email", "mobile", "address"} == datakeys.PERSONAL()


@pytest.mark.parametrize("key", [SM4_KEY, AES_KEY])
def test_personal_values_are_stored_encrypted_and_read_in_clear(db, make, now, sealtest, clerk, key):
    kid = configure(key).current.kid
    case = new_case(db, make, now, clerk)
    stored = raw(db, case.id)
    assert stored["mobile"].startswith(f"enc1:{kid}:") and stored["address"].startswith(f"enc1:{kid}:")
    assert MOBILE not in stored_text(db, case.id) and "秀水镇" not in stored_text(db, case.id)
    assert (stored["contact_name"], stored["programme"]) == ("王联络", "产业链提升")  # not personal: as it is
    assert read(db, case.id) == CONTACT


def test_a_change_by_a_step_is_sealed_too_and_any_json_value_round_trips(db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk)
    address = {"town": "秀水镇", "street": "府前街", "no": 18, "floors": [1, 2.5], "gate": None, "is_main": True}
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="update", actor=make.actor(clerk), now=now,
             payload={"mobile": NEW_MOBILE, "address": address})
    assert read(db, case.id) == {**CONTACT, "mobile": NEW_MOBILE, "address": address}
    stored = raw(db, case.id)
    assert all(stored[k].startswith("enc1:") for k in ("mobile", "address"))
    assert NEW_MOBILE not in stored_text(db, case.id) and "府前街" not in stored_text(db, case.id)


def test_each_value_is_sealed_as_its_json_text_bound_to_its_key(db, make, now, sealtest, clerk):
    """What a person holding the key reads from the database by hand: the value's JSON text, in UTF-8 (not escaped),
    sealed with `case_file.data.<key>` as its authenticated data."""
    configure(SM4_KEY)
    stored = raw(db, new_case(db, make, now, clerk).id)
    assert datakeys.KEYRING.open(stored["mobile"], "case_file.data.mobile") == '"13912345678"'
    assert datakeys.KEYRING.open(stored["address"], "case_file.data.address") == '"盂县秀水镇府前街18号"'


def test_a_case_half_sealed_reads_each_value_by_its_own_state(db, make, now, sealtest, clerk):
    """A personal value still plain next to a sealed one (a rotation not yet run over it) reads as it is; a value
    of a key that is not personal is never opened, even when it looks sealed."""
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk, data={**CONTACT, "programme": "enc1:第二批"})
    stored = raw(db, case.id)
    assert stored["programme"] == "enc1:第二批"
    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == case.id).values(
            data=sa.literal({**stored, "address": ADDRESS}, Case.__table__.c.data.type.impl)))
    assert read(db, case.id) == {**CONTACT, "programme": "enc1:第二批"}


def test_the_personal_values_not_under_the_current_key_are_counted(sealtest):
    fields = Case.__table__.c.data.type
    configure(SM4_KEY)
    sealed = datakeys.KEYRING.seal('"13912345678"', "case_file.data.mobile")
    assert fields.stale({"mobile": sealed, "contact_name": "王联络", "address": None}) == 0
    assert fields.stale({"mobile": 13912345678, "address": ADDRESS, "contact_name": "王联络"}) == 2  # stored plain
    configure(AES_KEY)
    assert fields.stale({"mobile": sealed, "address": ["秀水镇"]}) == 2  # under the previous key; a list, plain
    configure(None)
    assert fields.stale({"mobile": 13912345678, "address": ADDRESS}) == 0  # no key: plain is as it should be
    assert fields.stale({"mobile": sealed}) == 1


def test_an_empty_value_is_kept_as_it_is(db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk, data={"mobile": None, "contact_name": "王联络"})
    assert raw(db, case.id) == {"mobile": None, "contact_name": "王联络"} == read(db, case.id)


def test_a_value_sealed_under_a_key_no_longer_configured_names_the_key(db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk)
    configure(AES_KEY)
    kid = parse_key(SM4_KEY).kid
    with pytest.raises(DataKeyError, match=rf"^case_file.data.(mobile|address): sealed with key {kid}, which is "
                                           "neither ZYZ_DATA_KEY nor in ZYZ_DATA_KEYS_PREVIOUS$"):
        read(db, case.id)
    configure(None)  # no key at all: the sealed value cannot be read either, and says so
    with pytest.raises(DataKeyError, match=rf"sealed with key {kid}"):
        read(db, case.id)


def test_a_value_moved_to_another_key_does_not_open(db, make, now, sealtest, clerk):
    """The key's name is the authenticated data: a mobile number pasted over the address is refused."""
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk)
    stored = raw(db, case.id)
    with transaction(db) as s:
        s.connection().execute(sa.update(Case.__table__).where(Case.__table__.c.id == case.id).values(
            data=sa.literal({**stored, "address": stored["mobile"]}, Case.__table__.c.data.type.impl)))
    kid = parse_key(SM4_KEY).kid
    with pytest.raises(DataKeyError, match=rf"^case_file.data.address: a sealed value does not open with key {kid} "
                                           r"\(altered or moved\)$"):
        read(db, case.id)


def test_cases_written_before_a_key_was_set_still_read(db, make, now, sealtest, clerk):
    case = new_case(db, make, now, clerk)  # no key: stored as it is
    assert raw(db, case.id) == CONTACT
    configure(SM4_KEY)
    assert read(db, case.id) == CONTACT


def test_the_audit_trail_records_that_a_personal_value_was_given_or_changed_not_the_value(
        db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="update", actor=make.actor(clerk), now=now,
             payload={"mobile": NEW_MOBILE, "contact_name": "李联络"})
        events = s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)).all()
    created, updated = (json.loads(e.data) for e in events)
    assert created["data"] == {"mobile": "recorded", "address": "recorded", "contact_name": "王联络",
                               "programme": "产业链提升"}
    assert updated == {"changes": {"mobile": "changed", "contact_name": ["王联络", "李联络"]}}
    for event in events:
        assert not any(value in event.data for value in (MOBILE, NEW_MOBILE, "秀水镇"))
    # the auditor's pages say the same: recorded, changed
    assert redacted_for_auditor(events[0], "sealtest").data["data"]["mobile"] == WITHHELD
    assert redacted_for_auditor(events[1], "sealtest").data["changes"]["mobile"] == CHANGED


def test_the_case_page_and_its_timeline_show_the_values_to_those_who_see_the_case(
        client, db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk)
    with transaction(db) as s:
        fire(session=s, case_id=case.id, trigger="update", actor=make.actor(clerk), now=now,
             payload={"mobile": NEW_MOBILE})
    login(client, clerk.username)
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert NEW_MOBILE in text and ADDRESS in text  # the case's data, in clear
    timeline = text.split('class="list timeline"')[1].split("</table>")[0].split("<tbody>")[1]
    steps = [re.findall(r"<td>(.*?)</td>", row, re.S)[4] for row in timeline.split("<tr>")[1:]]
    assert steps == ["新建", "更新"]
    assert MOBILE not in timeline and NEW_MOBILE not in timeline
    events = client.get(f"/api/v1/cases/{case.id}/events", headers=api_headers(client, clerk.username)).get_json()
    assert [e["data"] for e in events["items"]] == [
        {"definition": "sealtest@1", "number": case.number,
         "data": {"mobile": "recorded", "address": "recorded", "contact_name": "王联络", "programme": "产业链提升"}},
        {"changes": {"mobile": "changed"}}]


def test_search_does_not_find_a_case_by_its_personal_values(db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk)
    with transaction(db) as s:
        actor = make.actor(clerk)
        assert [h.case.id for h in search.search_cases(s, actor, "王联络").items] == [case.id]
        assert search.search_cases(s, actor, MOBILE).items == []
        assert search.search_cases(s, actor, "秀水镇府前街").items == []
        body = s.exec(select(search.CaseSearch.body).where(search.CaseSearch.case_id == case.id)).one()
    assert MOBILE not in body and "府前街" not in body and "王联络" in body


def test_a_json_path_query_on_the_case_data_still_filters(db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    wanted = new_case(db, make, now, clerk)
    new_case(db, make, now, clerk, data={**CONTACT, "programme": "数字化转型"})
    with transaction(db) as s:
        found = s.exec(select(Case.id).where(Case.definition_key == "sealtest",
                                             col(Case.data)["programme"].as_string() == "产业链提升")).all()
    assert found == [wanted.id]


def test_rotation_seals_plain_case_data_then_moves_it_to_a_new_key(db, make, now, sealtest, clerk):
    cases = [new_case(db, make, now, clerk, data={**CONTACT, "mobile": f"1391234000{n}"}) for n in range(3)]
    without = new_case(db, make, now, clerk, data={"contact_name": "赵联络"})
    configure(SM4_KEY)
    assert keyrotation.rotate(db, now=now, batch=2).resealed["case_file.data"] == 6  # a mobile, an address each
    sm4 = parse_key(SM4_KEY).kid
    before = [raw(db, c.id) for c in cases]
    assert all(r[k].startswith(f"enc1:{sm4}:") for r in before for k in ("mobile", "address"))
    assert raw(db, without.id) == {"contact_name": "赵联络"}

    configure(AES_KEY, previous=SM4_KEY)
    rotated = keyrotation.rotate(db, now=now, batch=2)
    assert rotated.resealed["case_file.data"] == 6
    configure(AES_KEY)  # the old key gone: everything opens with the new one
    aes = parse_key(AES_KEY).kid
    after = [raw(db, c.id) for c in cases]
    assert all(r[k].startswith(f"enc1:{aes}:") for r in after for k in ("mobile", "address"))
    assert [read(db, c.id) for c in cases] == [{**CONTACT, "mobile": f"1391234000{n}"} for n in range(3)]
    assert keyrotation.rotate(db, now=now).resealed["case_file.data"] == 0  # nothing left
    with transaction(db) as s:
        events = s.exec(select(AuditEvent.data).where(AuditEvent.kind == "data_keys_rotated")
                        .order_by(AuditEvent.seq)).all()
    assert [json.loads(e)["resealed"]["case_file.data"] for e in events] == [6, 6, 0]


def test_a_rotation_stopped_half_way_finishes_when_run_again(db, make, now, sealtest, clerk, monkeypatch):
    cases = [new_case(db, make, now, clerk, data={"mobile": f"1391234000{n}"}) for n in range(4)]
    configure(SM4_KEY)
    fail_sealing(monkeypatch, at=3, purpose="case_file.data.mobile")
    with pytest.raises(OSError):
        keyrotation.rotate(db, now=now, batch=2)
    monkeypatch.undo()
    sealed = [raw(db, c.id)["mobile"].startswith("enc1:") for c in cases]
    assert sealed == [True, True, False, False]  # the first batch committed, the second rolled back
    assert keyrotation.rotate(db, now=now, batch=2).resealed["case_file.data"] == 2
    assert keyrotation.rotate(db, now=now, batch=2).resealed["case_file.data"] == 0
    assert [read(db, c.id)["mobile"] for c in cases] == [f"1391234000{n}" for n in range(4)]


@pytest.mark.parametrize("cases", [5, 6])
def test_a_rotation_reaches_the_last_row_whatever_the_batch_leaves_over(db, make, now, sealtest, clerk, cases):
    """Batches of 2 over an odd and an even number of rows: the last batch holds one row, or two."""
    town = make.town(county="盂县")  # a row of its own (the registry's record)
    made = [new_case(db, make, now, clerk, data={"mobile": f"1391234000{n}"}, town=town) for n in range(cases)]
    with transaction(db) as s:
        assert s.connection().exec_driver_sql("SELECT count(*) FROM case_file").scalar_one() == cases + 1
    configure(SM4_KEY)
    assert keyrotation.rotate(db, now=now, batch=2).resealed["case_file.data"] == cases
    assert all(raw(db, c.id)["mobile"].startswith("enc1:") for c in made)


def test_a_rotation_without_a_key_stores_the_case_data_as_it_is(db, make, now, sealtest, clerk):
    configure(SM4_KEY)
    case = new_case(db, make, now, clerk)
    configure(None, previous=SM4_KEY)
    assert keyrotation.rotate(db, now=now).resealed["case_file.data"] == 2
    assert raw(db, case.id) == CONTACT


def test_case_data_is_not_written_in_clear_while_the_personal_keys_are_unknown(monkeypatch):
    """Before definitions/visibility.yaml is loaded nobody can tell which values to seal: writing refuses."""
    configure(SM4_KEY)
    monkeypatch.setattr(datakeys.PERSONAL, "source", None)
    with pytest.raises(DataKeyError, match=r"^case_file.data: which keys are personal is not known "
                                           r"\(workflow.core.visibility is not loaded\)$"):
        Case.__table__.c.data.type.seal_values({"mobile": MOBILE})
    assert Case.__table__.c.data.type.open_values({"programme": "产业链提升"}) == {"programme": "产业链提升"}
