"""Common and breached passwords, refused under both password profiles (OWASP ASVS 2.1.7), checked offline.

The list: the 30,000 most common passwords of leaked password sets as zxcvbn ships them, the passwords common in
China that it misses (data/common_passwords_zh.txt: numbers with a meaning, pinyin phrases, places), pinyin names
made from the most common surnames and given names, and keyboard walks. A password is refused when, in lower
case, it is one of them, or is one of them with digits and symbols before or after it ("Woaini1314!",
"Password2026", "Zhangwei1990!"): what people add to a common word to pass a composition rule.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

ZH_FILE = Path(__file__).resolve().parent / "data" / "common_passwords_zh.txt"
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


@cache
def common_passwords() -> frozenset[str]:
    words = set(FREQUENCY_LISTS["passwords"])
    words.update(line.strip() for line in ZH_FILE.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#"))
    words.update(s + g for s in SURNAMES for g in GIVEN)
    for row in KEYBOARD:
        for line in (row, row[::-1]):
            words.update(line[i:j] for i in range(len(line)) for j in range(i + WALK_MIN, len(line) + 1))
    return frozenset(words)


def is_common(password: str) -> bool:
    """Whether the password is common or breached, as it is or with digits and symbols around a common core."""
    lower = password.lower()
    words = common_passwords()
    if lower in words or _SYMBOLS_AROUND.sub("", lower) in words:
        return True
    core = _AROUND.sub("", lower)
    return len(core) >= CORE_MIN and core in words
