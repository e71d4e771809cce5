"""Personal data at rest: mobile numbers and e-mail addresses are stored encrypted (SM4-GCM or AES-256-GCM) under
ZYZ_DATA_KEY, read back in clear by the application, re-encrypted under a new key by `zyz keys rotate`."""

from __future__ import annotations

import base64
import json
import re

import pytest
import sqlalchemy as sa

from conftest import fail_sealing, login
from webapp.config import ConfigError, check_production
from workflow.core import datakeys, keyrotation
from workflow.core.datakeys import DataKeyError, configure, parse_key
from workflow.core.db import transaction
from workflow.core.models import AuditEvent, User

SM4_KEY = "sm4:" + base64.b64encode(bytes(range(16))).decode()
AES_KEY = "aes:" + base64.b64encode(bytes(range(32))).decode()
MOBILE, EMAIL = "13912345678", "wang.li@yq.gov.cn"


def raw(db, user_id: int) -> tuple[str | None, str | None]:
    """The stored text, as someone reading the database file would see it."""
    with transaction(db) as s:
        return s.connection().exec_driver_sql(
            f"SELECT email, mobile FROM app_user WHERE id = {int(user_id)}").one()


def read(db, user_id: int) -> tuple[str | None, str | None]:
    with transaction(db) as s:
        user = s.get(User, user_id)
        return user.email, user.mobile


@pytest.mark.parametrize("key, cipher", [(SM4_KEY, "sm4"), (AES_KEY, "aes")])
def test_contact_details_are_stored_encrypted_and_read_in_clear(db, make, key, cipher):
    ring = configure(key)
    user = make.user("office", email=EMAIL, mobile=MOBILE)
    email, mobile = raw(db, user.id)
    kid = ring.current.kid
    assert ring.current.cipher == cipher
    assert email.startswith(f"enc1:{kid}:") and mobile.startswith(f"enc1:{kid}:")
    assert MOBILE not in mobile and "wang.li" not in email and "yq.gov.cn" not in email
    assert read(db, user.id) == (EMAIL, MOBILE)


def test_an_sm4_key_seals_with_sm4_and_an_aes_key_with_aes():
    """The national cipher is the one used, not AES under a 16-byte key: the value opens with SM4-GCM itself."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    for key, algorithm in ((SM4_KEY, algorithms.SM4), (AES_KEY, algorithms.AES)):
        ring = configure(key)
        sealed = ring.seal(MOBILE, "app_user.mobile")
        blob = base64.b64decode(sealed.split(":", 2)[2])
        nonce, body, tag = blob[:12], blob[12:-16], blob[-16:]
        decryptor = Cipher(algorithm(ring.current.secret), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(b"app_user.mobile")
        assert decryptor.update(body) + decryptor.finalize() == MOBILE.encode()


def test_a_new_key_is_sm4_unless_asked():
    assert parse_key(datakeys.new_key()).cipher == "sm4"
    assert parse_key(datakeys.new_key("aes")).cipher == "aes"


def test_several_previous_keys_are_read(db, make):
    configure(SM4_KEY)
    first = make.user("county", mobile=MOBILE)
    other_sm4 = "sm4:" + base64.b64encode(bytes(range(16, 32))).decode()
    configure(other_sm4)
    second = make.user("county", mobile="13800000000")
    configure(AES_KEY, previous=f"{SM4_KEY}, {other_sm4}")
    assert [read(db, first.id)[1], read(db, second.id)[1]] == [MOBILE, "13800000000"]


def test_the_longest_address_a_form_takes_fits_its_column_sealed():
    """An e-mail address of 200 characters (the form's limit) and a mobile number of 20, sealed, fit the columns."""
    ring = configure(SM4_KEY)
    for column, longest in ((User.__table__.c.email, "a" * 188 + "@yq.gov.cn.cn"), (User.__table__.c.mobile, "1" * 20)):
        assert len(ring.seal(longest[:200], "x")) <= column.type.impl_instance.length


def test_the_same_number_is_sealed_differently_each_time(db, make):
    configure(SM4_KEY)
    first = make.user("county", mobile=MOBILE)
    second = make.user("county", mobile=MOBILE)
    assert raw(db, first.id)[1] != raw(db, second.id)[1]


def test_a_value_moved_to_another_column_does_not_open(db, make):
    """The column's name is the authenticated data: a mobile number pasted over an e-mail address is refused."""
    configure(SM4_KEY)
    user = make.user("county", email=EMAIL, mobile=MOBILE)
    with transaction(db) as s:
        s.connection().exec_driver_sql(f"UPDATE app_user SET email = mobile WHERE id = {int(user.id)}")
    kid = parse_key(SM4_KEY).kid
    with pytest.raises(DataKeyError, match=rf"^app_user.email: a sealed value does not open with key {kid} "
                                           r"\(altered or moved\)$"):
        read(db, user.id)


def test_a_value_sealed_under_a_key_no_longer_configured_names_the_key(db, make):
    configure(SM4_KEY)
    user = make.user("county", mobile=MOBILE)
    configure(AES_KEY)
    kid = parse_key(SM4_KEY).kid
    with pytest.raises(DataKeyError, match=rf"^app_user.mobile: sealed with key {kid}, which is neither ZYZ_DATA_KEY "
                                           "nor in ZYZ_DATA_KEYS_PREVIOUS$"):
        read(db, user.id)


def test_without_a_key_values_are_stored_as_they_are(db, make):
    configure(None)
    user = make.user("county", email=EMAIL, mobile=MOBILE)
    assert raw(db, user.id) == (EMAIL, MOBILE) == read(db, user.id)


def test_rotation_seals_plain_values_then_moves_them_to_a_new_key(db, make, now):
    plain = [make.user("county", email=f"u{n}@yq.gov.cn", mobile=f"1391234000{n}") for n in range(3)]
    no_contact = make.user("county")
    configure(SM4_KEY)
    result = keyrotation.rotate(db, now=now, batch=2)
    assert result.resealed == {"app_user.email": 3, "app_user.mobile": 3, "second_factor.totp_secret": 0,
                               "outbox_message.address": 0, "case_file.data": 0}
    sm4 = parse_key(SM4_KEY).kid
    for user in plain:
        assert all(v.startswith(f"enc1:{sm4}:") for v in raw(db, user.id))
    assert raw(db, no_contact.id) == (None, None)

    configure(AES_KEY, previous=SM4_KEY)  # a new key; the old one still opens what it sealed
    assert read(db, plain[0].id) == ("u0@yq.gov.cn", "13912340000")
    assert keyrotation.rotate(db, now=now).total == 6
    configure(AES_KEY)  # the old key gone: everything opens with the new one
    assert [read(db, u.id) for u in plain] == [(f"u{n}@yq.gov.cn", f"1391234000{n}") for n in range(3)]
    with transaction(db) as s:
        events = s.exec(sa.select(AuditEvent.data).where(AuditEvent.kind == "data_keys_rotated")
                        .order_by(AuditEvent.seq)).scalars().all()
    assert [json.loads(e) for e in events] == [
        {"key": sm4, "cipher": "sm4",
         "resealed": {"app_user.email": 3, "app_user.mobile": 3, "second_factor.totp_secret": 0,
                      "outbox_message.address": 0, "case_file.data": 0}},
        {"key": parse_key(AES_KEY).kid, "cipher": "aes",
         "resealed": {"app_user.email": 3, "app_user.mobile": 3, "second_factor.totp_secret": 0,
                      "outbox_message.address": 0, "case_file.data": 0}}]


def test_a_rotation_without_a_key_stores_the_values_as_they_are_and_says_so(db, make, now):
    """ZYZ_DATA_KEY removed and the old key kept in ZYZ_DATA_KEYS_PREVIOUS: the rotation opens every value and
    writes it as it is (a deployment leaving encryption), recorded by the system with no key named."""
    configure(SM4_KEY)
    user = make.user("county", email=EMAIL, mobile=MOBILE)
    configure(None, previous=SM4_KEY)
    assert keyrotation.rotate(db, now=now).total == 2
    assert raw(db, user.id) == (EMAIL, MOBILE)
    with transaction(db) as s:
        event = s.exec(sa.select(AuditEvent).where(AuditEvent.kind == "data_keys_rotated")).scalars().one()
    assert (event.actor_id, event.actor_name, event.role) == (None, "系统", "system")
    assert json.loads(event.data)["key"] is None and json.loads(event.data)["cipher"] is None


def test_a_rotation_stopped_half_way_finishes_when_run_again(db, make, now, monkeypatch):
    users = [make.user("county", mobile=f"1391234000{n}") for n in range(4)]
    configure(SM4_KEY)
    fail_sealing(monkeypatch, at=3)
    with pytest.raises(OSError):
        keyrotation.rotate(db, now=now, batch=2)
    monkeypatch.undo()
    sealed = [raw(db, u.id)[1].startswith("enc1:") for u in users]
    assert sealed == [True, True, False, False]  # the first batch committed, the second rolled back
    assert keyrotation.rotate(db, now=now, batch=2).resealed["app_user.mobile"] == 2
    assert keyrotation.rotate(db, now=now, batch=2).total == 0
    assert [read(db, u.id)[1] for u in users] == [f"1391234000{n}" for n in range(4)]


def test_the_sealed_columns_are_the_contact_details_the_totp_secrets_and_where_a_message_went():
    assert [(c.table.name, c.name) for c, _ in keyrotation.sealed_columns()] == [
        ("app_user", "email"), ("app_user", "mobile"), ("second_factor", "totp_secret"), ("outbox_message", "address")]


@pytest.mark.parametrize("text, message", [
    ("des:AAAA", "a data key is written sm4:<base64> or aes:<base64>"),
    ("sm4:not base64!", "the sm4 data key is not valid base64"),
    ("sm4:AAAA!AAAAAAAAAAAAAAAAAA==", "the sm4 data key is not valid base64"),  # 16 bytes once the "!" is dropped
    ("sm4:" + base64.b64encode(bytes(15)).decode(), "an sm4 data key is 16 bytes, not 15"),
    ("aes:" + base64.b64encode(bytes(16)).decode(), "an aes data key is 32 bytes, not 16"),
])
def test_a_malformed_key_is_refused_at_start_saying_what_is_wrong(text, message):
    with pytest.raises(DataKeyError, match=f"^{re.escape(message)}$"):
        parse_key(text)
    with pytest.raises(ConfigError) as refused:
        check_production({"DATA_KEY": text})
    assert str(refused.value) == f"ZYZ_DATA_KEY: {message}; make one with `zyz keys new`"
    with pytest.raises(ConfigError, match=f"^ZYZ_DATA_KEYS_PREVIOUS: {re.escape(message)};"):
        check_production({"DATA_KEY": SM4_KEY, "DATA_KEYS_PREVIOUS": f"{AES_KEY},{text}"})


def test_zyz_keys_new_and_rotate(run_zyz, db, make):
    made = run_zyz("keys", "new")
    assert made.exit_code == 0 and parse_key(made.output.strip()).cipher == "sm4"
    aes = run_zyz("keys", "new", "--cipher", "aes").output.strip()
    assert len(base64.b64decode(aes.removeprefix("aes:"))) == 32
    user = make.user("county", email=EMAIL, mobile=MOBILE)
    key = made.output.strip()
    rotated = run_zyz("keys", "rotate", env={"ZYZ_DATA_KEY": key})
    assert rotated.exit_code == 0, rotated.output
    assert rotated.output.splitlines() == [
        "  app_user.email: 1", "  app_user.mobile: 1", "  second_factor.totp_secret: 0", "  outbox_message.address: 0",
        "  case_file.data: 0", f"2 values re-encrypted under sm4 key {parse_key(key).kid}"]
    assert all(v.startswith(f"enc1:{parse_key(key).kid}:") for v in raw(db, user.id))
    refused = run_zyz("keys", "rotate")  # without the key, the sealed values cannot be read
    assert refused.exit_code == 1
    assert refused.output.strip().startswith("error: app_user.email: sealed with key ")


def test_the_admin_page_shows_the_contact_details_in_clear(client, make, db):
    configure(SM4_KEY)
    admin = make.user("admin")
    user = make.user("county", email=EMAIL, mobile=MOBILE)
    login(client, admin.username)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f'value="{EMAIL}"' in page and f'value="{MOBILE}"' in page
    assert raw(db, user.id)[1].startswith("enc1:")
