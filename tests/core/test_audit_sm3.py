"""National cryptography in the audit trail: a deployment that asks for SM3 (ZYZ_AUDIT_HASH=sm3 at `zyz init`) gets
every later event hashed with SM3 and its anchors and archives signed with HMAC-SM3; the switch is an event of the
chain, so that `zyz audit verify` knows where SM3 begins and a database never mixes hashes without saying so."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from test_audit_integrity import KEY, anchor, anchors, chain, events, tamper, verify, zyz  # noqa: F401  (fixtures)
from webapp.config import ConfigError, check_production
from workflow.core import audit
from workflow.core.actors import Actor
from workflow.core.db import transaction
from workflow.core.errors import InvalidInput
from workflow.core.models import AuditHead


def sm3(text: str) -> str:
    return hashlib.new("sm3", text.encode()).hexdigest()


def canonical(event: dict) -> str:
    return audit.canonical_json([audit.stamp(event["occurred_at"]) if k == "occurred_at" else event[k]
                                 for k in audit.HASHED_FIELDS])


@pytest.fixture
def switched(db, now, chain):
    """The chain of test_audit_integrity, switched to SM3, then two more logins."""
    with transaction(db) as s:
        switch = audit.switch_algorithm(s, to="sm3", now=now, actor=Actor.system())
    with transaction(db) as s:
        for n in range(2):
            audit.record(s, kind="login_ok", now=now + timedelta(minutes=10 + n), data={"via": "web"})
    return switch


def test_after_the_switch_every_event_is_hashed_with_sm3_and_the_switch_itself_the_old_way(db, chain, switched):
    trail = events(db)
    switch, after = trail[len(chain)], trail[len(chain) + 1:]
    assert switch["kind"] == "hash_algorithm_changed" and json.loads(switch["data"]) == {"from": "sha256",
                                                                                         "to": "sm3"}
    assert switch["actor_name"] == Actor.system().name
    assert switch["hash"] == hashlib.sha256(canonical(switch).encode()).hexdigest() == switched["hash"]
    assert len(after) == 2
    for event in after:
        assert event["hash"] == sm3(canonical(event)) == audit.event_hash(event, "sm3")
        assert event["hash"] != audit.event_hash(event)
    assert [e["prev_hash"] for e in after] == [switch["hash"], after[0]["hash"]]
    with transaction(db) as s:
        assert audit.chain_algorithm(s) == "sm3"
        head = s.get(AuditHead, 1)
        assert (head.seq, head.hash, head.algorithm) == (len(chain) + 3, after[-1]["hash"], "sm3")


def test_the_whole_chain_verifies_and_says_it_is_hashed_with_sm3(db, chain, switched):
    with transaction(db) as s:
        result = audit.verify(s)
    head = events(db)[-1]["hash"]
    assert (result.ok, result.count, result.head_hash, result.algorithm) == (True, len(chain) + 3, head, "sm3")
    assert result.describe() == f"完整：共 {len(chain) + 3} 条事件，哈希链完整，链头 {head[:16]}，哈希算法 SM3"
    assert result.describe("en") == f"OK: {len(chain) + 3} events, chain intact, head {head[:16]}, hashed with SM3"


def test_a_chain_never_switched_verifies_as_sha256_and_says_nothing_of_it(db, chain):
    with transaction(db) as s:
        result = audit.verify(s)
    assert result.ok and result.algorithm == "sha256" and "SM3" not in result.describe()


def test_switching_to_the_hash_in_use_writes_nothing(db, now, switched, chain):
    with transaction(db) as s:
        assert audit.switch_algorithm(s, to="sm3", now=now) is None
    assert len(events(db)) == len(chain) + 3


def test_switching_back_is_recorded_too_and_the_chain_still_verifies(db, now, switched, chain):
    with transaction(db) as s:
        back = audit.switch_algorithm(s, to="sha256", now=now)
        audit.record(s, kind="login_ok", now=now, data={"via": "web"})
    trail = events(db)
    assert back["hash"] == sm3(canonical(trail[-2]))  # the switch back is the last event in SM3
    assert trail[-1]["hash"] == hashlib.sha256(canonical(trail[-1]).encode()).hexdigest()
    with transaction(db) as s:
        result = audit.verify(s)
    assert result.ok and result.count == len(chain) + 5 and result.algorithm == "sha256"


def test_an_unknown_hash_is_refused_in_words_and_nothing_is_written(db, now, chain):
    with pytest.raises(InvalidInput) as refused, transaction(db) as s:
        audit.switch_algorithm(s, to="md5", now=now)
    assert refused.value.zh == "不支持的哈希算法：md5（可选：sha256、sm3）"
    assert refused.value.en == "Unknown hash algorithm: md5 (one of: sha256, sm3)"
    assert len(events(db)) == len(chain)


def test_an_sm3_event_edited_in_the_database_is_found_and_located(zyz, db, chain, switched, database_url):
    seq = len(chain) + 2
    tamper(database_url, f"UPDATE audit_event SET data = '{{\"via\":\"api\"}}' WHERE seq = {seq}")
    code, lines = verify(zyz)
    assert code == 1
    assert lines[0] == f"BROKEN: event #{events(db)[seq - 1]['id']} (seq {seq}) edited"


def test_an_event_slipped_in_with_sha256_after_the_switch_is_not_accepted(zyz, db, chain, switched, database_url):
    """Someone writing an event around record() with the hash they know: the chain expects SM3 there."""
    last = events(db)[-1]
    forged = {name: last[name] for name in audit.HASHED_FIELDS}
    forged.update(prev_hash=last["hash"], comment="补录")
    forged["hash"] = audit.event_hash(forged)  # SHA-256
    columns = ["seq", "hash", *audit.HASHED_FIELDS]
    tamper(database_url, f"INSERT INTO audit_event ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
           "UPDATE audit_head SET seq = seq + 1, hash = ?",
           params=[[last["seq"] + 1, forged["hash"], *[forged[c] for c in audit.HASHED_FIELDS]], [forged["hash"]]])
    code, lines = verify(zyz)
    inserted = events(db)[-1]
    assert code == 1 and lines[0] == f"BROKEN: event #{inserted['id']} (seq {inserted['seq']}) edited"


def test_a_head_switched_back_without_an_event_is_reported(db, chain, switched, database_url):
    """The head says SHA-256 (so the next event would be hashed the weaker way) though no event switched back."""
    tamper(database_url, "UPDATE audit_head SET algorithm = 'sha256'")
    with transaction(db) as s:
        result = audit.verify(s)
    last = events(db)[-1]
    assert (result.ok, result.problem, result.seq, result.event_id) == (False, "algorithm", last["seq"], last["id"])
    assert result.describe() == (f"已损坏：事件 #{last['id']}（序号 {last['seq']}）之后，链头记录的哈希算法被改为 sha256，"
                                 "链中没有相应的切换事件")


def test_a_switch_event_naming_no_known_hash_is_an_edit(db, chain, database_url, now):
    """Written around record() with a valid hash, a switch to a hash that does not exist cannot be followed."""
    last = events(db)[-1]
    forged = {name: last[name] for name in audit.HASHED_FIELDS}
    forged.update(kind="hash_algorithm_changed", data='{"from":"sha256","to":"md5"}', prev_hash=last["hash"])
    forged["hash"] = audit.event_hash(forged)
    columns = ["seq", "hash", *audit.HASHED_FIELDS]
    tamper(database_url, f"INSERT INTO audit_event ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
           "UPDATE audit_head SET seq = seq + 1, hash = ?",
           params=[[last["seq"] + 1, forged["hash"], *[forged[c] for c in audit.HASHED_FIELDS]], [forged["hash"]]])
    with transaction(db) as s:
        result = audit.verify(s)
    assert (result.ok, result.problem, result.seq, result.count) == (False, "edited", last["seq"] + 1, last["seq"])


def test_anchors_of_an_sm3_chain_are_signed_with_hmac_sm3_and_name_it(zyz, db, chain, switched, anchors, now):
    line = anchor(db, anchors, now + timedelta(days=1))
    body = {k: line[k] for k in ("v", "seq", "hash", "anchored_at", "prev", "alg")}
    assert line["alg"] == "sm3" and line["seq"] == len(chain) + 3
    assert line["hmac"] == hmac.new(KEY.encode(), audit.canonical_json(body).encode(), "sm3").hexdigest()
    code, lines = verify(zyz)
    assert code == 0 and lines[0].endswith("hashed with SM3") and lines[1].endswith("all match")


def _anchor_problems(engine, anchors) -> list[tuple[int, str]]:
    with audit.snapshot(engine) as reader:
        report = audit.check_anchors(reader, directory=anchors, key=KEY.encode())
    return [(p.line, p.problem) for p in report.problems]


def test_an_anchor_whose_hash_name_was_changed_is_forged(engine, db, chain, switched, anchors, now):
    anchor(db, anchors, now + timedelta(days=1))
    path = anchors / audit.ANCHOR_FILE
    line = json.loads(path.read_text())
    line["alg"] = "sha256"  # the signature was made with HMAC-SM3 over a body naming sm3
    path.write_text(json.dumps(line) + "\n")
    assert _anchor_problems(engine, anchors) == [(1, "forged")]


def test_an_anchor_naming_an_unknown_hash_is_unreadable(engine, db, chain, anchors, now):
    anchor(db, anchors, now)
    path = anchors / audit.ANCHOR_FILE
    line = json.loads(path.read_text())
    line["alg"] = "md5"
    path.write_text(json.dumps(line) + "\n")
    assert _anchor_problems(engine, anchors) == [(1, "unreadable")]


def test_an_archive_of_an_sm3_chain_carries_the_sm3_of_its_file_and_an_hmac_sm3(db, chain, switched, tmp_path, now):
    with transaction(db) as s:
        result = audit.archive(s, before=date(2100, 1, 1), today=date(2100, 12, 31), directory=tmp_path / "out",
                               now=now, key=KEY.encode())
    manifest = json.loads(result.manifest_path.read_text())
    data = result.path.read_bytes()
    assert manifest["alg"] == "sm3"
    assert manifest["sm3"] == hashlib.new("sm3", data).hexdigest()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    signed = {k: v for k, v in manifest.items() if k != "hmac"}
    assert manifest["hmac"] == hmac.new(KEY.encode(), audit.canonical_json(signed).encode(), "sm3").hexdigest()


def test_zyz_init_with_sm3_records_the_switch_once(run_zyz, zyz, db, chain, anchors):
    def init(**env: str):
        return run_zyz("init", env={"ZYZ_ANCHOR_DIR": str(anchors), "ZYZ_AUDIT_HMAC_KEY": KEY, **env})

    first = init(ZYZ_AUDIT_HASH="SM3")
    assert first.exit_code == 0, first.output
    assert "the audit trail's events are hashed with sm3 from now on (switch recorded)" in first.output
    assert first.output.strip().endswith("audit hash sm3")
    again = init(ZYZ_AUDIT_HASH="sm3")
    assert again.exit_code == 0 and "switch recorded" not in again.output
    unset = init()  # the variable left out: the chain keeps its hash
    assert unset.exit_code == 0 and unset.output.strip().endswith("audit hash sm3")
    assert [e["kind"] for e in events(db)].count("hash_algorithm_changed") == 1
    code, lines = verify(zyz)
    assert code == 0 and lines[0].endswith("hashed with SM3")


def test_an_unknown_zyz_audit_hash_is_refused_at_start():
    with pytest.raises(ConfigError, match="ZYZ_AUDIT_HASH must be one of sha256, sm3, not 'md5'"):
        check_production({"AUDIT_HASH": "md5"})
    check_production({"AUDIT_HASH": "sm3"})
    check_production({"AUDIT_HASH": None})


def test_a_switch_rolled_back_leaves_the_head_as_it_was(db, chain, now):
    with pytest.raises(RuntimeError), transaction(db) as s:
        audit.switch_algorithm(s, to="sm3", now=now)
        raise RuntimeError("the rest of the action failed")
    with transaction(db) as s:
        assert audit.chain_algorithm(s) == "sha256"
        assert s.connection().execute(sa.select(sa.func.count()).select_from(AuditHead)).scalar() == 1
    assert len(events(db)) == len(chain)
