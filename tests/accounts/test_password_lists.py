"""The deployment's own lists of common passwords (ZYZ_PASSWORD_LISTS): read once at the start from local files,
refused besides the built-in list, under the same rule (a common core with digits and symbols around it); a file
that cannot be used stops the start."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from conftest import PASSWORD, csrf_token, login
from webapp.config import ConfigError
from workflow.accounts import common_passwords
from workflow.accounts.auth import password_problems
from workflow.accounts.common_passwords import configure, is_common
from workflow.core.errors import Unprocessable

COMMON_EN = "a common or breached password: choose one that is harder to guess"
COMMON_ZH = "这个密码太常见（在常用或已泄露的密码之列），请换一个不易猜到的密码"
LISTED = "Niangziguan2027!"  # 娘子关 and a year: three classes, in no built-in list


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def town_list(tmp_path) -> Path:
    return write(tmp_path / "top-passwords.txt", "# the security team's list", "niangziguan", "", "  Mianshan  ")


def test_unset_the_built_in_list_alone_is_used(apps, town_list):
    assert password_problems(LISTED) == []
    apps()
    assert common_passwords.configured_lists() == ()
    assert not is_common(LISTED) and is_common("Woaini1314!")
    apps(PASSWORD_LISTS=str(town_list))
    assert is_common(LISTED)
    apps()  # the next start without the setting: the built-in list alone again
    assert password_problems(LISTED) == []
    assert is_common("Woaini1314!")


def test_a_listed_password_is_refused_when_the_account_is_made(apps, make, town_list):
    apps(PASSWORD_LISTS=str(town_list))
    with pytest.raises(Unprocessable) as raised:
        make.user("county", username="yx_wang", password=LISTED)
    assert [(d["field"], d["zh"], d["en"]) for d in raised.value.details] == [("password", COMMON_ZH, COMMON_EN)]
    assert (raised.value.zh, raised.value.en) == (COMMON_ZH, COMMON_EN)
    assert make.user("county", username="yx_li", password="Qiaotou#2027").username == "yx_li"


@pytest.mark.parametrize("password", ["niangziguan", "NIANGZIGUAN", "Niangziguan", "2027niangziguan2027",
                                      "Niangziguan2027!", "!!Niangziguan!!", "@2027Mianshan#", "mianshan"])
def test_listed_words_are_refused_in_any_case_and_with_digits_and_symbols_around(apps, town_list, password):
    apps(PASSWORD_LISTS=str(town_list))
    assert is_common(password)
    assert [p["en"] for p in password_problems(password) if p["en"] == COMMON_EN] == [COMMON_EN]


def test_an_entry_with_symbols_of_its_own_is_refused_as_written(apps, tmp_path):
    # "yq@2026!": neither "yq@2026" nor the core "yq" is listed; the entry itself is, symbols and all
    apps(PASSWORD_LISTS=str(write(tmp_path / "list.txt", "yq@2026!")))
    assert is_common("YQ@2026!") and is_common("yq@2026!")
    assert not is_common("yq@2026") and not is_common("yq@2027!")


@pytest.mark.parametrize("password", [
    "# the security team's list", "the security team's list",  # a comment
    "", "!!!", "2027",  # blank lines are no entry
    "  Mianshan  x", "Mianshan2027Niangziguan", "Niangzi-guan",  # the entries within other text are not refused
])
def test_comments_and_blank_lines_are_no_entries(apps, town_list, password):
    apps(PASSWORD_LISTS=str(town_list))
    assert not is_common(password)


def test_the_password_page_refuses_a_listed_password(apps, make, tmp_path):
    listed = write(tmp_path / "list.txt", "niangziguan")
    app = apps(PASSWORD_LISTS=str(listed))
    listed.unlink()  # read at the start, not at each check
    apps(PASSWORD_LISTS=str(listed))  # nor again by another start with the same setting in this process
    make.user("county", username="yx_clerk")
    client = app.test_client()
    assert login(client, "yx_clerk").status_code == 302
    refused = client.post("/password", data={"current": PASSWORD, "new": LISTED, "confirm": LISTED,
                                             "csrf_token": csrf_token(client, "/password")})
    assert refused.status_code == 422
    assert COMMON_ZH in refused.get_data(as_text=True)
    changed = client.post("/password", data={"current": PASSWORD, "new": "Qiaotou#2027", "confirm": "Qiaotou#2027",
                                             "csrf_token": csrf_token(client, "/password")})
    assert changed.status_code == 302


def test_the_setting_is_read_from_the_environment(monkeypatch, apps, town_list):
    monkeypatch.setenv("ZYZ_PASSWORD_LISTS", str(town_list))
    app = apps()
    assert app.config["PASSWORD_LISTS"] == str(town_list)
    assert common_passwords.configured_lists() == (str(town_list),)
    assert is_common(LISTED)


def test_users_create_on_the_command_line_refuses_a_listed_password(run_zyz, town_list):
    """The command builds the application as the server does, so it checks against the same lists."""
    assert run_zyz("init").exit_code == 0
    create = ("users", "create", "--username", "yx_wang", "--name", "王丽", "--role", "county", "--unit", "盂县",
              "--password", LISTED)
    refused = run_zyz(*create, env={"ZYZ_ACCOUNT_APPROVER": "none", "ZYZ_PASSWORD_LISTS": str(town_list)})
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [f"error: {COMMON_ZH} / {COMMON_EN}",
                                           f"  - password: {COMMON_ZH} / {COMMON_EN}"]
    unset = run_zyz(*create, env={"ZYZ_ACCOUNT_APPROVER": "none"})
    assert (unset.exit_code, unset.output) == (0, "created yx_wang (county, 盂县)\n")


def test_several_lists_separated_by_the_path_separator(apps, tmp_path, town_list):
    other = write(tmp_path / "local.txt", "Qiaotou", "yangquan-zyz")
    apps(PASSWORD_LISTS=f"{town_list}{os.pathsep} {os.pathsep} {other} {os.pathsep}")
    assert common_passwords.configured_lists() == (str(town_list), str(other))
    assert [is_common(p) for p in ("Niangziguan1!", "Qiaotou#2027", "2027yangquan-zyz!", "Woaini1314!",
                                   "Pingshang#2027")] == [True, True, True, True, False]
    apps(PASSWORD_LISTS=[str(other)])  # a list of paths given in the configuration itself
    assert common_passwords.configured_lists() == (str(other),)
    assert [is_common(p) for p in ("Niangziguan1!", "Qiaotou#2027")] == [False, True]


def test_an_empty_list_is_allowed(apps, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    comments = write(tmp_path / "comments.txt", "# nothing yet", "")
    apps(PASSWORD_LISTS=f"{empty}{os.pathsep}{comments}")
    assert common_passwords.configured_lists() == (str(empty), str(comments))
    assert not is_common("") and not is_common(LISTED) and is_common("Password2026!")


def test_a_byte_order_mark_and_windows_line_ends_are_read_as_text(apps, tmp_path):
    listed = tmp_path / "saved-on-windows.txt"
    listed.write_bytes("\ufeffniangziguan\r\n绿水青山\r\n".encode())
    apps(PASSWORD_LISTS=str(listed))
    assert is_common("niangziguan") and is_common("Niangziguan2027!") and is_common("绿水青山2027!")


def test_a_missing_list_stops_the_start(apps, tmp_path, town_list):
    missing = tmp_path / "no-such-list.txt"
    with pytest.raises(ConfigError) as refused:
        apps(PASSWORD_LISTS=f"{town_list}{os.pathsep}{missing}")
    assert str(refused.value) == f"ZYZ_PASSWORD_LISTS: {missing} does not exist"
    assert common_passwords.configured_lists() == () and not is_common(LISTED)  # nothing of it is used


@pytest.mark.parametrize("content, line", [
    ("niangziguan\nqiaotou\n绿水青山\n".encode("gbk"), 3),  # saved as GBK
    ("\ufeffniangziguan\n绿水青山\n".encode("utf-8")[:-2] + b"\n", 2),  # a character cut short after a BOM
    (b"\xff\xfen\x00i\x00", 1),  # UTF-16
    (b"\n\nniangziguan\n\xff\n", 4),  # the blank lines before it count
])
def test_a_list_that_is_not_utf8_stops_the_start(apps, tmp_path, content, line):
    listed = tmp_path / "list.txt"
    listed.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        apps(PASSWORD_LISTS=str(listed))
    assert str(refused.value) == (f"ZYZ_PASSWORD_LISTS: {listed} is not UTF-8 text (line {line}); save it as UTF-8, "
                                  "one password a line")
    assert not is_common(LISTED)


def test_a_folder_or_an_unreadable_list_stops_the_start(apps, tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as refused:
        apps(PASSWORD_LISTS=str(tmp_path))
    assert str(refused.value) == f"ZYZ_PASSWORD_LISTS: {tmp_path} is a directory, not a file of passwords"
    locked = write(tmp_path / "locked.txt", "niangziguan")

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError) as refused:
        apps(PASSWORD_LISTS=str(locked))
    assert str(refused.value) == f"ZYZ_PASSWORD_LISTS: {locked} cannot be read (Permission denied)"


def test_a_list_of_a_hundred_thousand_passwords(tmp_path):
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word(n: int) -> str:  # "zyq" and n in base 26: six letters after it, no digit, in no built-in list
        digits = []
        for _ in range(6):
            n, d = divmod(n, 26)
            digits.append(letters[d])
        return "zyq" + "".join(reversed(digits))

    words = [word(n) for n in range(100_000)]
    listed = write(tmp_path / "top-100000.txt", "# 100,000 passwords", *words)
    configure(str(listed))
    assert common_passwords.configured_lists() == (str(listed),)
    assert all(is_common(w.capitalize() + "2027!") for w in words)
    assert [is_common(word(n)) for n in (100_000, 100_001, 26**6 - 1)] == [False, False, False]
    configure(None)
    assert not any(is_common(w) for w in words[::997])


# ---- the built-in list: the 100,000 most common passwords of Chinese users ------------------------------------

def test_the_built_in_list_holds_the_hundred_thousand_most_common_passwords_as_published():
    """data/common_passwords_top100k.txt.gz is the published list unchanged (its text's md5 as published)."""
    text = gzip.decompress(common_passwords.TOP_FILE.read_bytes())
    assert hashlib.md5(text, usedforsecurity=False).hexdigest() == "dc0773deaf1a2e019945b91748c3b874"
    assert len(text.splitlines()) == 100_000
    top = common_passwords.read_list(common_passwords.TOP_FILE)  # less one line: "#NAME?", a spreadsheet's error
    assert len(top) == 99_999 and top[:3] == ["123456", "123456789", "111111"]
    assert set(top) <= common_passwords.common_passwords()
    licence = (common_passwords.DATA / "LICENSE-common-passwords.txt").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")


@pytest.mark.parametrize("password", [
    "Zhenlong2026!", "Xueyan#1990", "Lixinyi2008!", "Wangwenhao88!", "Zhangwentao@1",  # pinyin names, ranks 60,000+
    "Xiaoyao1314!", "Chenlei521!", "Libing521#",  # a name and 521 / 1314 (我爱你, 一生一世)
    "Xishuashua2027",  # a pinyin phrase
])
def test_passwords_beyond_the_thirty_thousand_of_the_international_list_are_refused(password):
    """Each one's core is in the Chinese top 100,000 only: not in zxcvbn's list, not in the hand-made one."""
    core = password.lower().strip("!#@0123456789")
    assert core not in FREQUENCY_LISTS["passwords"] and core not in common_passwords.read_list(
        common_passwords.ZH_FILE)
    assert is_common(password)
    assert [p["en"] for p in password_problems(password)] == [COMMON_EN]


def test_a_deployment_list_may_be_gzip_compressed(apps, tmp_path):
    listed = tmp_path / "top-passwords.txt.gz"
    listed.write_bytes(gzip.compress("# the security team's list\n娘子关\nniangziguan\n".encode()))
    apps(PASSWORD_LISTS=str(listed))
    assert is_common(LISTED) and is_common("娘子关")


@pytest.mark.parametrize("content", [b"niangziguan\n", gzip.compress(b"niangziguan\n")[:-6]],
                         ids=["not compressed", "cut short"])
def test_a_gz_list_that_cannot_be_decompressed_stops_the_start(apps, tmp_path, content):
    listed = tmp_path / "list.txt.gz"
    listed.write_bytes(content)
    with pytest.raises(ConfigError) as refused:
        apps(PASSWORD_LISTS=str(listed))
    assert str(refused.value).startswith(f"ZYZ_PASSWORD_LISTS: {listed} is not a gzip file that can be read (")
    assert not is_common(LISTED)
