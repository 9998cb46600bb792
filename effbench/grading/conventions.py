"""Answer conventions beyond English LaTeX: full-width forms, decimal commas, and Chinese words for mathematics.

- Full-width forms (`（Ｃ）`, `：`, `１２`) are read as their ASCII counterparts before extraction.
- A decimal comma (`3,5`, `2.499,50 €`) is read as a decimal point only where the completion's own
  numbers make the convention unambiguous; otherwise `3,5` stays what it also may be, a list.
- Chinese words for mathematics (`根号2`, `三分之一`, `负二`, `无解`, `2或3`) are written as LaTeX before
  the answer is compared.
Every pattern here is linear in the text's length.
"""

from __future__ import annotations

import re

FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
OTHER_DIGITS = {  # Arabic-Indic, Eastern Arabic-Indic, Devanagari and Bengali digits; the Arabic decimal and thousands signs
    first + offset: ord("0") + offset for first in (0x0660, 0x06F0, 0x0966, 0x09E6) for offset in range(10)
} | {0x066B: ord("."), 0x066C: ord(",")}
AS_ASCII = FULL_WIDTH | OTHER_DIGITS


def half_width(text: str) -> str:
    """`（Ｃ）１２` -> `(C)12`, `٣٫٥` -> `3.5`, `१२` -> `12`: the full-width ASCII block, the ideographic space, and the
    digits of Arabic and Indic scripts; nothing else changes."""
    return text.translate(AS_ASCII)


# --- decimal commas --------------------------------------------------------------------------------

END = r"(?!\d|[.,]\d)"  # a number ends here: a sentence's full stop or comma may follow
POINT_THOUSANDS_COMMA_DECIMAL = re.compile(rf"(?<![\d.,])\d{{1,3}}(?:\.\d{{3}})+,\d+{END}")  # 2.499,50
COMMA_THOUSANDS_POINT_DECIMAL = re.compile(rf"(?<![\d.,])\d{{1,3}}(?:,\d{{3}})+\.\d+{END}")  # 2,499.50
COMMA_DECIMAL = re.compile(rf"(?<![\d.,])\d+,(?:\d{{1,2}}|\d{{4,}}){END}")  # 3,5 / 0,25 / 3,14159
POINT_DECIMAL = re.compile(rf"(?<![\d.,])\d+\.(?:\d{{1,2}}|\d{{4,}}){END}")  # 3.5 / 0.25 / 3.14159
CURRENCY_AFTER_COMMA = re.compile(r"(?<![\d.,])\d+,\d{2}\s?(?:€|EUR\b|[Ee]uro)")  # 3,50 €
COMMA_LANGUAGES = re.compile(  # words of languages that write decimal commas: German, French, Spanish, Italian, Portuguese, Dutch
    r"\b(?:Antwort|Ergebnis|Lösung|beträgt|also|daher|somit|réponse|résultat|donc|ainsi|vaut|respuesta|resultado|"
    r"entonces|por\s+lo\s+tanto|risposta|quindi|risultato|resposta|portanto|antwoord|dus|ist|est|es|è|é|sind)\b",
    re.I,
)
NUMBER_WITH_SEPARATORS = re.compile(r"(?<![\d.])(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![\d.])|\d++,\d+)")


def writes_decimal_commas(text: str) -> bool:
    """Whether the text's own numbers use the decimal comma, unambiguously.

    Yes when a number groups thousands with points before a comma (`2.499,50`), or writes a comma
    decimal before a euro sign (`3,50 €`), or when a language that writes decimal commas states a
    comma decimal (`Die Antwort ist 3,5`); and no point decimal or point-decimal thousands (`2,499.50`,
    `3.5`) appears, which would make it ambiguous.
    """
    if COMMA_THOUSANDS_POINT_DECIMAL.search(text) or POINT_DECIMAL.search(text):
        return False
    if POINT_THOUSANDS_COMMA_DECIMAL.search(text) or CURRENCY_AFTER_COMMA.search(text):
        return True
    return bool(COMMA_DECIMAL.search(text) and COMMA_LANGUAGES.search(text))


BRACKETED = re.compile(r"[(\[]|\\\{|\\left|\\langle")


def with_decimal_points(answer: str) -> str:
    """`2.499,50 €` -> `2499.50 €`, `3,5` -> `3.5`: an answer written with decimal commas, in decimal points. A tuple, an
    interval or a set (`(2,4)`, `[1,3]`, `\\{2,4\\}`) is left as it is: its comma separates its members."""
    if BRACKETED.search(answer):
        return answer
    return NUMBER_WITH_SEPARATORS.sub(lambda m: m[0].replace(".", "").replace(",", "."), answer)


# --- Chinese words for mathematics -----------------------------------------------------------------

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL = "[零〇一二两三四五六七八九十百千万]+"
TERM = rf"(?:根号下?\s*(?:\d+|{NUMERAL}|[a-z])|\d+(?:\.\d+)?|{NUMERAL}|[a-z]|\\pi|π)"
FRACTION = re.compile(rf"({TERM})\s*分之\s*({TERM})")
ROOT = re.compile(rf"根号下?\s*(\d+|{NUMERAL}|[a-z]|\([^()]{{1,40}}\))")
CHINESE_NUMBER = re.compile(NUMERAL)
NEGATIVE = re.compile(r"负\s*(?=[\d\\(a-z根零〇一二两三四五六七八九十])")
EMPTY = re.compile(r"无实数解|无实根|无解|不存在|空集|\\varnothing|∅")
INFINITY = {"正无穷大": "+\\infty", "正无穷": "+\\infty", "负无穷大": "-\\infty", "负无穷": "-\\infty", "无穷大": "\\infty"}
RELATIONS = re.compile(r"[<>≤≥]|\\[lg]eq?(?![a-z])")
OR_WORDS = re.compile(r"\s*(?:或者|或)\s*")
ALTERNATIVES = re.compile(r"\s*(?:或者|或|和|以及|及|与|、)\s*")
CHINESE_UNITS = re.compile(
    r"(?<=[\d}])\s*(?:平方厘米|平方米|平方千米|立方厘米|立方米|千米|厘米|毫米|千克|毫升|小时|分钟|元|角|分|个|人|米|克|吨|升|天|岁|秒|次|种|条|位|本|张|倍|项|组|块|辆|名|件|只)$"
)


def chinese_number(text: str) -> int | None:
    """`三` -> 3, `十二` -> 12, `二十` -> 20, `一百零五` -> 105, `三万` -> 30000; None for what is not one."""
    total, section, digit = 0, 0, None
    for char in text:
        if char in DIGITS:
            digit = DIGITS[char]
        elif char in UNITS:
            section += (1 if digit is None else digit) * UNITS[char]
            digit = None
        elif char == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _term(text: str) -> str:
    """One side of `X分之Y`, as LaTeX."""
    text = text.strip()
    if text.startswith("根号"):
        return ROOT.sub(lambda m: f"\\sqrt{{{_term(m[1].strip('()'))}}}", text)
    number = chinese_number(text)
    return str(number) if number is not None else text


def chinese_math(text: str) -> str:
    """Chinese mathematical words as LaTeX: `二分之根号三` -> `\\frac{\\sqrt{3}}{2}`, `负2` -> `-2`, `无解` -> `\\emptyset`,
    `2或3` -> `2, 3`, `正无穷` -> `+\\infty`. Text without them comes back unchanged."""
    if not re.search(r"[\u3000-\u9fff∅]|\\varnothing", text):
        return text
    for word, latex in INFINITY.items():
        text = text.replace(word, latex)
    text = EMPTY.sub(r"\\emptyset", text)
    text = CHINESE_UNITS.sub("", text.strip())
    text = NEGATIVE.sub("-", text)
    text = FRACTION.sub(lambda m: f"\\frac{{{_term(m[2])}}}{{{_term(m[1])}}}", text)
    text = ROOT.sub(lambda m: f"\\sqrt{{{_term(m[1].strip('()'))}}}", text)
    text = CHINESE_NUMBER.sub(lambda m: str(n) if (n := chinese_number(m[0])) is not None else m[0], text)
    if RELATIONS.search(text):  # `x<-1或x>1`: alternatives of relations, which the grader reads as a union
        text = OR_WORDS.sub(" or ", text)
    return ALTERNATIVES.sub(", ", text)
