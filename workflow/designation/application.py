"""The designation application (申报书): its fields as data, their type checks, and completeness.

Type checks (`check_types`) run on every save, so a half-filled draft can always be kept; completeness
(`check_complete`) runs on submit. Every reason names its field. Numbers are stored as JSON numbers and
compared as `Decimal(str(value))`, which is exact for the at most two decimals allowed here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from workflow.core.reference import INDUSTRY_CATEGORIES
from workflow.core.yamlcheck import Label


def reason(zh: str, en: str, field: str) -> dict[str, Any]:
    """One problem in both languages, tagged with its field (the shape guards return)."""
    return {"zh": zh, "en": en, "field": field}


# The application's labels are the same {zh, en} pairs as the definitions'.
Text = Label


def _choices(pairs: dict[str, tuple[str, str]]) -> dict[str, Text]:
    return {key: Text(zh, en) for key, (zh, en) in pairs.items()}


CATEGORIES = _choices(INDUSTRY_CATEGORIES)
HONOURS = _choices({
    "national_tech_center": ("国家级企业技术中心", "National enterprise technology centre"),
    "provincial_tech_center": ("省级企业技术中心", "Provincial enterprise technology centre"),
    "national_eng_center": ("国家级工程（技术研究）中心", "National engineering (technology research) centre"),
    "provincial_eng_center": ("省级工程中心", "Provincial engineering centre"),
    "zjtx": ("专精特新", "Specialised and innovative SME (专精特新)"),
    "little_giant": ("小巨人", "“Little giant”"),
    "single_champion": ("单项冠军", "Single champion"),
    "dragon_head": ("龙头企业", "Leading (dragon-head) enterprise"),
})
BRAND_LEVELS = _choices({"city": ("市级", "City"), "province": ("省级", "Provincial"),
                         "national": ("国家级", "National")})
STANDARD_LEVELS = _choices({"national": ("国家标准", "National standard"),
                            "industry": ("行业标准", "Industry standard"), "local": ("地方标准", "Local standard")})
STANDARD_ROLES = _choices({"led": ("主导制定", "Led"), "joined": ("参与制定", "Took part")})
# The ten kinds of public service platform of the plan's section 四(七), in the plan's order.
PLATFORM_KINDS = _choices({
    "rd_design": ("研发设计", "R&D and design"),
    "testing": ("检验检测", "Testing and inspection"),
    "training": ("业务培训", "Training"),
    "information": ("信息咨询", "Information and consulting"),
    "ip_protection": ("知识产权保护", "Intellectual property protection"),
    "financing_guarantee": ("融资担保", "Financing guarantee"),
    "exhibition": ("产品展销", "Product exhibition and sales"),
    "logistics": ("物流服务", "Logistics"),
    "tech_transfer": ("成果转化", "Technology transfer"),
    "ecommerce": ("电子商务", "E-commerce"),
})
RELAXATION_BASES = _choices({
    "none": ("不申请放宽", "No relaxation requested"),
    "historic_origin": ("历史发源地", "Historic origin"),
    "geographical_indication": ("地理标志", "Geographical indication"),
    "market_share": ("市场占有率高", "High market share"),
})


@dataclass(frozen=True)
class FieldSpec:
    """One field: `kind` is text | choice | multichoice | decimal | integer | list."""

    kind: str
    label: Text
    required: bool = False
    max_length: int | None = None
    multiline: bool = False
    choices: dict[str, Text] = field(default_factory=dict)
    min: Decimal | None = None
    max: Decimal | None = None
    decimals: int = 0
    unit: Text | None = None
    item: dict[str, FieldSpec] = field(default_factory=dict)  # a list's item shape
    item_label: Text | None = None
    max_items: int | None = None
    unique: str | None = None  # a list item key that may not repeat
    required_unless: tuple[str, str] | None = None  # (field, value): required when field is set to another value
    hint: Text | None = None


def _text(zh: str, en: str, max_length: int, *, required: bool = False, multiline: bool = False,
          hint: Text | None = None) -> FieldSpec:
    return FieldSpec("text", Text(zh, en), required=required, max_length=max_length, multiline=multiline, hint=hint)


def _number(kind: str, zh: str, en: str, *, maximum: int, decimals: int = 0, unit: Text | None = None,
            hint: Text | None = None) -> FieldSpec:
    return FieldSpec(kind, Text(zh, en), required=True, min=Decimal(0), max=Decimal(maximum), decimals=decimals,
                     unit=unit, hint=hint)


YI = Text("亿元", "100 million yuan")
FIELDS: dict[str, FieldSpec] = {
    "industry_category": FieldSpec("choice", Text("产业类别", "Industry category"), required=True,
                                   choices=CATEGORIES),
    "leading_industry": _text("主导产业", "Leading industry", 200, required=True),
    "main_products": _text("主导产品", "Main products", 500, required=True, multiline=True),
    "output_yi": _number("decimal", "上年度主导产业产值", "Last year's output of the leading industry",
                         maximum=100000, decimals=2, unit=YI),
    "county_share_pct": _number("decimal", "主导产业占全县（区）工业比重", "Share of the county's industry",
                                maximum=100, decimals=2, unit=Text("%", "%")),
    "jobs": _number("integer", "带动就业人数", "Jobs created", maximum=10_000_000, unit=Text("人", "people")),
    "local_workers": _number("integer", "本地务工人数", "Local workers employed", maximum=10_000_000,
                             unit=Text("人", "people")),
    "average_income": _number("decimal", "务工人员人均年收入", "Average annual income of the workers",
                              maximum=10_000_000, decimals=2, unit=Text("元", "yuan")),
    "leading_enterprises": FieldSpec(
        "list", Text("龙头企业", "Leading enterprises"), item_label=Text("龙头企业", "leading enterprise"),
        max_items=50, item={
            "name": _text("企业名称", "Name", 100, required=True),
            "honours": FieldSpec("multichoice", Text("荣誉与平台", "Honours and centres"), choices=HONOURS),
        }),
    "supporting_enterprises": _number(
        "integer", "上下游配套企业户数", "Supporting upstream and downstream enterprises", maximum=100000,
        unit=Text("户", "enterprises"), hint=Text("含家庭农场、专业合作社", "family farms and cooperatives count")),
    "brands": FieldSpec(
        "list", Text("品牌", "Brands"), item_label=Text("品牌", "brand"), max_items=50, item={
            "name": _text("品牌名称", "Name", 100, required=True),
            "level": FieldSpec("choice", Text("级别", "Level"), required=True, choices=BRAND_LEVELS),
        }),
    "standards": FieldSpec(
        "list", Text("标准", "Standards"), item_label=Text("标准", "standard"), max_items=50, item={
            "name": _text("标准名称", "Name", 200, required=True),
            "level": FieldSpec("choice", Text("类别", "Kind"), required=True, choices=STANDARD_LEVELS),
            "role": FieldSpec("choice", Text("主导或参与", "Led or took part"), required=True,
                              choices=STANDARD_ROLES),
        }),
    "platforms": FieldSpec(
        "list", Text("公共服务平台", "Public service platforms"), item_label=Text("平台", "platform"),
        max_items=len(PLATFORM_KINDS), unique="kind", item={
            "kind": FieldSpec("choice", Text("功能", "Function"), required=True, choices=PLATFORM_KINDS),
            "name": _text("平台名称", "Name", 100, required=True),
        }),
    "relaxation_basis": FieldSpec("choice", Text("放宽认定依据", "Basis for relaxed admission"),
                                  choices=RELAXATION_BASES),
    "relaxation_grounds": FieldSpec("text", Text("放宽认定理由", "Grounds for relaxed admission"), max_length=2000,
                                    multiline=True, required_unless=("relaxation_basis", "none")),
    "heritage": _text("历史传承", "Heritage", 4000, multiline=True,
                      hint=Text("独特产品、工艺技艺和服务，品牌效应与社会认同",
                                "unique products, crafts and services; brand recognition")),
    "business_environment": _text("营商环境", "Business environment", 4000, required=True, multiline=True),
}
APPLICATION_FIELDS = tuple(FIELDS)  # the order of the form; designation.yaml's create_accepts lists the same


def is_empty(value: Any) -> bool:
    """Nothing entered: None, blank text, an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def decimal_of(value: Any) -> Decimal | None:
    """A JSON number as an exact Decimal (None for anything else)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def decimals_of(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _fmt(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral_value() else format(number, "f")


def _check(spec: FieldSpec, value: Any, name: str, where: Text | None = None) -> list[dict[str, Any]]:
    """Type and limit problems of one value that is not empty; `where` names the list entry it is in."""
    label = spec.label
    zh = f"{where.zh}{label.zh}" if where else label.zh
    en = f"{where.en}{label.en.lower()}" if where else label.en

    def bad(zh_problem: str, en_problem: str) -> list[dict[str, Any]]:
        return [reason(f"{zh}{zh_problem}", f"{en} {en_problem}", name)]

    if spec.kind == "text":
        if not isinstance(value, str):
            return bad("必须是文字", "must be text")
        if spec.max_length and len(value) > spec.max_length:
            return bad(f"不能超过 {spec.max_length} 字（现有 {len(value)} 字）",
                       f"may have at most {spec.max_length} characters (has {len(value)})")
        return []
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            return bad("的选项不正确", "is not one of the choices")
        return []
    if spec.kind == "multichoice":
        if not isinstance(value, list) or not all(isinstance(v, str) and v in spec.choices for v in value):
            return bad("的选项不正确", "must be a list of the choices")
        if len(set(value)) != len(value):
            return bad("有重复的选项", "repeats a choice")
        return []
    if spec.kind in ("decimal", "integer"):
        number = decimal_of(value)
        if spec.kind == "integer" and (number is None or not isinstance(value, int)):
            return bad("必须是整数", "must be a whole number")
        if number is None:
            return bad("必须是数字", "must be a number")
        if spec.min is not None and number < spec.min:
            return (bad("不能为负数", "cannot be negative") if spec.min == 0
                    else bad(f"不能小于 {spec.min}", f"cannot be less than {spec.min}"))
        if spec.max is not None and number > spec.max:
            return bad(f"不能大于 {_fmt(spec.max)}", f"cannot be more than {_fmt(spec.max)}")
        if decimals_of(number) > spec.decimals:
            return bad(f"最多保留 {spec.decimals} 位小数", f"may have at most {spec.decimals} decimals")
        return []
    if spec.kind == "list":
        if not isinstance(value, list):
            return bad("格式不正确（应为列表）", "must be a list")
        if spec.max_items and len(value) > spec.max_items:
            return bad(f"最多填写 {spec.max_items} 项", f"may have at most {spec.max_items} entries")
        found: list[dict[str, Any]] = []
        item_label = spec.item_label or spec.label
        for i, item in enumerate(value, 1):
            at = Text(f"第 {i} 项{item_label.zh}", f"{item_label.en.capitalize()} {i}")
            if not isinstance(item, dict) or set(item) - set(spec.item):
                found.append(reason(f"{at.zh}格式不正确", f"{at.en} is not in the expected shape", name))
                continue
            for key, sub in spec.item.items():
                if not is_empty(item.get(key)):
                    found.extend(_check(sub, item[key], name, Text(f"{at.zh}：", f"{at.en}: ")))
        if spec.unique and not found:
            seen = [item.get(spec.unique) for item in value if not is_empty(item.get(spec.unique))]
            if len(seen) != len(set(seen)):
                found.append(reason(f"{label.zh}有重复项", f"{label.en} lists an entry twice", name))
        return found
    raise ValueError(f"unknown field kind {spec.kind!r}")


def check_types(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every type or limit problem of the application fields in `data`; empty values are not problems."""
    found: list[dict[str, Any]] = []
    for name, spec in FIELDS.items():
        value = data.get(name)
        if not is_empty(value):
            found.extend(_check(spec, value, name))
    return found


def valid_value(data: dict[str, Any], name: str) -> Any:
    """The field's value when it is entered and passes its type check, else None."""
    value = data.get(name)
    if is_empty(value) or _check(FIELDS[name], value, name):
        return None
    return value


def check_complete(data: dict[str, Any], *, has_town: bool) -> list[dict[str, Any]]:
    """What a submitted application still lacks: the town, required fields, required parts of list entries.

    Fields with a type problem are left to `check_types`, so each problem is reported once.
    """
    found: list[dict[str, Any]] = []
    if not has_town:
        found.append(reason("未选择专业镇", "No town chosen", "town_id"))
    for name, spec in FIELDS.items():
        value = data.get(name)
        required = spec.required
        if spec.required_unless:
            other, allowed = spec.required_unless
            required = valid_value(data, other) not in (None, allowed)
        if is_empty(value):
            if required:
                found.append(reason(f"未填写{spec.label.zh}", f"{spec.label.en} is missing", name))
            continue
        if spec.kind != "list" or _check(spec, value, name):
            continue
        item_label = spec.item_label or spec.label
        for i, item in enumerate(value or [], 1):
            for key, sub in spec.item.items():
                if sub.required and is_empty(item.get(key)):
                    found.append(reason(f"第 {i} 项{item_label.zh}未填写{sub.label.zh}",
                                        f"{item_label.en.capitalize()} {i}: {sub.label.en} is missing", name))
    return found


# --- reading what people type -------------------------------------------------------------------------------

NUMBER_RE = re.compile(r"-?\d{1,15}(\.\d{1,30})?")


class NotANumber(ValueError):
    """Typed text that is not a number; `reason` says so, tagged with the field."""

    def __init__(self, found: dict[str, Any]):
        super().__init__(found["en"])
        self.reason = found


def number_from_text(name: str, raw: str) -> int | float | None:
    """A typed number as a JSON number (None when blank); full-width digits and thousands commas are fine.

    Limits (sign, decimals, range) are not checked here but by `check_types`, so they are reported the
    same way for the form and the API.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip().replace(",", "").replace(" ", "")
    if text == "":
        return None
    spec = FIELDS[name]
    if not NUMBER_RE.fullmatch(text):
        zh, en = ("必须是整数", "must be a whole number") if spec.kind == "integer" else (
            "必须是数字", "must be a number")
        raise NotANumber(reason(f"{spec.label.zh}{zh}", f"{spec.label.en} {en}", name))
    number = Decimal(text)
    if spec.kind == "integer":
        if number != number.to_integral_value():
            raise NotANumber(reason(f"{spec.label.zh}必须是整数", f"{spec.label.en} must be a whole number", name))
        return int(number)
    if decimals_of(number.normalize()) > spec.decimals:
        # said here, before float() could round the extra digits away
        raise NotANumber(reason(f"{spec.label.zh}最多保留 {spec.decimals} 位小数",
                                f"{spec.label.en} may have at most {spec.decimals} decimals", name))
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def display(name: str, value: Any, locale: str | None = None) -> str:
    """A stored value as people read it: 8.50 for 亿元, choice labels, '' for nothing."""
    spec = FIELDS[name]
    if is_empty(value):
        return ""
    if spec.kind in ("decimal", "integer"):
        number = decimal_of(value)
        if number is None:
            return str(value)
        if name == "output_yi" or (spec.decimals and number != number.to_integral_value()):
            return format(number.quantize(Decimal(1).scaleb(-spec.decimals)), "f")  # 8.50, 45000.50
        return _fmt(number)
    if spec.kind == "choice":
        return spec.choices[value].get(locale) if value in spec.choices else str(value)
    return str(value)


def text_for_number(name: str, value: Any) -> str:
    """What the form's number input shows for a stored value."""
    return display(name, value) if decimal_of(value) is not None else ("" if value is None else str(value))
