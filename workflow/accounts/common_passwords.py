"""Common and breached passwords, refused under both password profiles (OWASP ASVS 2.1.7), checked offline.

The list: the 100,000 most common passwords of Chinese users (data/common_passwords_top100k.txt.gz: counted over
the 2015 NetEase breach, 821 million passwords; MIT licence, data/LICENSE-common-passwords.txt), the 30,000 most
common passwords of leaked password sets as zxcvbn ships them, the passwords common in China that both miss or rank
low (data/common_passwords_zh.txt: numbers with a meaning, pinyin phrases, places), pinyin names made from the most
common surnames and given names, and keyboard walks. A password is refused when, in lower case, it is one of them,
or is one of them with digits and symbols before or after it ("Woaini1314!", "Password2026", "Zhangwei1990!"): what
people add to a common word to pass a composition rule.

A deployment adds its own lists (ZYZ_PASSWORD_LISTS: the lists its security team uses, say):
`configure` reads them once, at the start, from local files; the same rule applies to their entries. Nothing is
ever looked up over the network.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

DATA = Path(__file__).resolve().parent / "data"
TOP_FILE = DATA / "common_passwords_top100k.txt.gz"  # as published, gzip-compressed (md5 of the text: dc0773de…)
ZH_FILE = DATA / "common_passwords_zh.txt"
SURNAMES = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu",
            "hu", "guo", "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang", "han", "feng", "deng",
            "cao", "peng", "zeng", "xiao", "tian", "dong", "yuan", "pan", "cai", "jiang", "yu", "du", "ye", "cheng",
            "wei", "su", "lu", "ding", "ren", "shen", "yao")
GIVEN = ("wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan", "jie", "juan",
         "tao", "ming", "chao", "xiulan", "xia", "ping", "gang", "gui", "hui", "hong", "bo", "hua", "dan", "yu",
         "fei", "hao", "lin", "ying", "jian", "peng", "hai", "long", "bin", "kai", "xin", "yi", "tingting", "jing",
         "jingjing", "lili")
# keyboard rows and columns (QWERTY), walked forwards and backwards
KEYBOARD = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
            "qazwsxedcrfvtgbyhnujmikolp", "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0", "zaq1xsw2cde3vfr4")
WALK_MIN = 4  # "qwer", "asdf", "1234" and longer pieces of a row
CORE_MIN = 4  # a core shorter than this ("ab" of "ab123456") is not looked up on its own
_AROUND = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SYMBOLS_AROUND = re.compile(r"^[\W_]+|[\W_]+$")


class PasswordListError(ValueError):
    """A deployment's password list that cannot be read (the message names the file)."""


@cache
def common_passwords() -> frozenset[str]:
    """The built-in list."""
    words = set(read_list(TOP_FILE))
    words.update(FREQUENCY_LISTS["passwords"])
    words.update(read_list(ZH_FILE))
    words.update(s + g for s in SURNAMES for g in GIVEN)
    for row in KEYBOARD:
        for line in (row, row[::-1]):
            words.update(line[i:j] for i in range(len(line)) for j in range(i + WALK_MIN, len(line) + 1))
    return frozenset(words)


# The deployment's lists as configured: their paths, and their entries that the built-in list does not hold.
_configured: tuple[tuple[str, ...], frozenset[str]] = ((), frozenset())


def configure(paths: str | Iterable[str | os.PathLike[str]] | None) -> None:
    """Use the deployment's password lists at `paths` (a string: paths separated by os.pathsep; each path without
    the spaces around it, empty ones left out) besides the built-in list; none: the built-in list alone. The files
    are read when the paths differ from those configured, else kept; a file that cannot be read raises
    PasswordListError and changes nothing."""
    global _configured
    if paths is None:
        paths = ()
    elif isinstance(paths, str):
        paths = paths.split(os.pathsep)
    chosen = tuple(name for name in (str(p).strip() for p in paths) if name)
    if chosen == _configured[0]:
        return
    built_in = common_passwords()
    added: set[str] = set()
    for path in chosen:
        added.update(word for word in read_list(path) if word not in built_in)
    _configured = (chosen, frozenset(added))


def configured_lists() -> tuple[str, ...]:
    """The paths of the deployment's lists in use (none: the built-in list alone)."""
    return _configured[0]


def read_list(path: str | os.PathLike[str]) -> list[str]:
    """The passwords of a list file: UTF-8 text (a byte order mark allowed; gzip-compressed when the name ends in
    .gz), one password a line, in lower case, without the whitespace around it; blank lines and lines starting with
    # left out."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PasswordListError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise PasswordListError(f"{path} is a directory, not a file of passwords") from None
    except OSError as exc:
        raise PasswordListError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if str(path).endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError; a cut file ends early
            raise PasswordListError(f"{path} is not a gzip file that can be read ({exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1  # of the text after its byte order mark, if any
        raise PasswordListError(f"{path} is not UTF-8 text (line {line}); save it as UTF-8, one password a "
                                "line") from None
    words = (line.strip() for line in text.splitlines())
    return [word.lower() for word in words if word and not word.startswith("#")]


def _known(word: str) -> bool:
    return word in common_passwords() or word in _configured[1]


def is_common(password: str) -> bool:
    """Whether the password is common or breached (in the built-in list or a list the deployment configured), as it
    is or with digits and symbols around a common core."""
    lower = password.lower()
    if _known(lower) or _known(_SYMBOLS_AROUND.sub("", lower)):
        return True
    core = _AROUND.sub("", lower)
    return len(core) >= CORE_MIN and _known(core)
