"""Extract the final answer of a completion's answer part by named, ordered rules.

The rules read English and Chinese statements of an answer (`The answer is`, `答案是`, `【答案】 … <eoa>`,
`故选C`), option letters stated in prose ("so it has to be C", "C, because …"), boxes, bare answers
and the last math; full-width forms are read as ASCII first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from effbench.grading.conventions import half_width
from effbench.grading.switches import on

BOX_COMMANDS = re.compile(r"\\boxed|\\fbox")
BETWEEN_BOXES = re.compile(r"(?:[\s,;.$]|\\quad|\\qquad|\\[,;]|\\text\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b)*")


def boxes(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every `\\boxed{...}` / `\\fbox{...}` (braces balanced), in one pass."""
    found = []
    closing: dict[int, int] | None = None
    for command in BOX_COMMANDS.finditer(text):
        position = command.end()
        while position < len(text) and text[position].isspace():
            position += 1
        if text[position : position + 1] == "{":
            closing = _closing_braces(text, position) if closing is None else closing
            if position in closing:
                found.append((command.start(), closing[position] + 1, text[position + 1 : closing[position]].strip()))
        elif match := re.match(r"-?[\w.]+", text[position : position + 64]):  # "\boxed 5"
            found.append((command.start(), position + match.end(), match.group(0)))
    return found


def last_braced(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (or `\\fbox{...}`); linear in the text's length."""
    found = boxes(text)
    return found[-1][2] if found else None


def _several_boxes(text: str) -> str | None:
    """The last box with the boxes just before it when only separators stand between them, where there are several:
    `\\boxed{-2} \\quad\\text{and}\\quad \\boxed{1}` gives `-2, 1`."""
    found = boxes(text)
    if len(found) < 2 or not on("several_boxes"):
        return None
    run = [found[-1]]
    for box in reversed(found[:-1]):
        if box[1] > run[0][0] or not BETWEEN_BOXES.fullmatch(text, box[1], run[0][0]):
            break
        run.insert(0, box)
    return ", ".join(content for _, _, content in run) if len(run) > 1 else None


def _closing_braces(text: str, begin: int) -> dict[int, int]:
    """Position of each `{` from `begin` on -> position of its matching `}`, in one pass."""
    stack: list[int] = []
    closing: dict[int, int] = {}
    for match in re.finditer(r"[{}]", text[begin:]):
        if match.group() == "{":
            stack.append(begin + match.start())
        elif stack:
            closing[stack.pop()] = begin + match.start()
    return closing


ANSWER_IS = re.compile(
    r"(?:\b(?:final|correct)\s+(?:answer|option|choice)\s*(?:is\s*:?|:|=)|\banswer\s+(?:is\s*:?|:|=)|\banswer\s*[:：]"
    r"|\banswers\s+are\s*:?|【答案】\s*[:：]?|(?:正确|最终)?答案\s*(?:应该?)?\s*(?:是|为|[:：])\s*[:：]?"
    r"|正确的?(?:选项|答案|是)\s*(?:是|为)?\s*[:：]?"
    r"|\b(?:die\s+)?(?:antwort|lösung|ergebnis)\s*(?:ist|lautet|:)|\b(?:la\s+)?(?:réponse|respuesta|risposta)\s*(?:est|es|è|:)"
    r"|\b(?:a\s+)?resposta\s*(?:é|:)|\bhet\s+antwoord\s+is)\s*",
    re.I,
)
SENTENCE_END = re.compile(r"\.\s|。|<eo[ae]>|\.?\s*(?:$|(?=</think>))", re.M)
ANSWER_ENDS = re.compile(
    r",?\s+(?:since|because|as|which|so|and\s+so)\s.*$|,\s+(?!and\b|or\b)[a-z]{2,}\b.*$|\s+I hope it is correct.*$", re.I
)
LETTERS = r"\(?([A-E](?:\s*(?:,|、|和|与|及|&|\band\b)?\s*\(?[A-E]\)?)*)\)?(?![A-Za-z0-9_\\^{(=+*/-])"
CHOICE = re.compile(  # an option letter named as such, or stated in prose; never a letter inside a word or formula
    r"(?:(?i:\b(?:options?|choices?|choose|select|pick|go(?:ing)?\s+with)\s*:?\s*"
    r"|\b(?:has|have|must|should|would|will|can\s+only)\s+(?:to\s+)?be\s+(?:option\s+|choice\s+)?)"
    r"|(?:故|所以|因此|因而|从而|于是|综上(?:所述)?|则|应|即)[,，]?\s*(?:本题)?\s*应?\s*选(?:择|项)?\s*[:：]?\s*"
    r"|\A\s*(?=\(?[A-E]\)?(?:\s*[,.:;]|\s+(?i:because|since|as|is)\b)))" + LETTERS
)
HASHES = re.compile(r"####\s*([^\n]+?)\s*$", re.M)
NUMBER = re.compile(r"[-−]?(?:\d{1,3}(?:\.\d{3})+,\d+|\d[\d,]*(?:\.\d+)?)(?:\s*(?:thousand|million|billion)\b)?")
MATH_DELIMITER = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]")
CLOSER = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
BARE_MAX_CHARS = 100


def _answer_is(text: str) -> str | None:
    """The statement after the last "final answer is" / "the answer is" / "Answer:"."""
    text = text.replace("**", "")
    last = None
    for match in ANSWER_IS.finditer(text):
        last = match
    return None if last is None else _statement(text, last.end())[1]


def _statement(text: str, start: int) -> tuple[int, str | None]:
    """(end, answer) of the statement that starts at `start`, up to the end of its sentence."""
    found = SENTENCE_END.search(text, start)
    end = found.start() if found else len(text)  # the pattern matches at the end of the text at the latest
    statement = _after_verb(ANSWER_ENDS.sub("", text[start:end]).strip().removesuffix("<eoa>").strip())
    enclosed = re.fullmatch(r"\$+([^$]+)\$+", statement)  # `$x$` -> `x`; `$2$ and $3$` stays as it is
    return end, (enclosed[1].strip() if enclosed else statement) or None


def _after_verb(statement: str) -> str:
    """What a sentence-shaped answer states: `The largest $n$ is 34` gives `34`."""
    words = re.sub(r"\$[^$]*\$", "x", statement)
    if len(re.findall(r"[A-Za-z]{2,}", words)) < 3:
        return statement
    verbs = list(re.finditer(r"\s(?:is|are|equals|was)\s+", statement))
    return statement[verbs[-1].end() :] if verbs else statement


ZH_THEREFORE = re.compile(  # `所以 a 的值为 2`, `方程的解为 x=2`
    r"(?:(?:所以|故|因此|因而|从而|于是|综上(?:所述)?|即|则)[^。\n]{0,40}?"
    r"|的(?:解集?|值|取值范围|范围|最[大小]值|概率|面积|体积|长度|周长|坐标|个数|通项公式))(?:为|是|等于)\s*[:：]?\s*"
)
CJK = re.compile(r"[\u3400-\u9fff]")
MATH_WORDS = set(
    "根号下分之负正无穷大解或者和与及零〇一二两三四五六七八九十百千万空集不存在实数元角个人米厘毫克吨升天岁秒钟小时次种条位本张倍项组块辆名件只平方立"
)


def _zh_therefore(text: str) -> str | None:
    """A Chinese conclusion: `所以 a 的值为 2。` gives `2`; the last one."""
    last = None
    for match in ZH_THEREFORE.finditer(text):
        last = match
    return None if last is None else _statement(text, last.end())[1]


def _choice(text: str) -> str | None:
    """The option letters named as such or stated in prose: "option (B)", "choose C", "so it has to be C",
    "C, because the other three fail", `故选C`, `所以选 A、D`; the last such statement."""
    matches = CHOICE.findall(text)
    return matches[-1] if matches else None


def _bare(text: str) -> str | None:
    """The whole answer part, when it is one short line that is not a sentence (`$\\frac12$`, `x = 5`, `18 dollars`)."""
    text = text.strip()
    if not text or len(text) > BARE_MAX_CHARS or "\n" in text or len(set(CJK.findall(text)) - MATH_WORDS) > 1:
        return None  # a Chinese sentence is not a bare answer (`5元`, `2或3`, `二分之根号三` are)
    prose = re.sub(r"\\text\s*\{[^{}]*\}|\$[^$]*\$|\\[A-Za-z]+|\b(?:and|or)\b", " ", text)
    mathlike = re.search(r"[\d$\\^_=+*/(){}\[\]<>-]", text)
    words = len(_words(prose))
    if words and math_segments(text):
        return None  # "Special matrix: $M$": the math part, by the last-math rule
    if re.match(r"\s*[A-Za-z]{2,}\s+[A-Za-z]{2,}\b", prose):
        return None  # "Es kostet 12 €": a sentence, whose number the number rules find
    return text if words <= (2 if mathlike else 1) else None


def _words(text: str) -> list[str]:
    """The words of a text in any script that separates words with spaces: two or more letters, no digit."""
    return [word for word in text.split() if _is_word(word)]


def _is_word(token: str) -> bool:
    token = token.strip(".,;:!?।۔؟")
    return len(token) > 1 and not any(c.isdigit() for c in token) and sum(c.isalpha() for c in token) > 1


def math_segments(text: str, *, with_positions: bool = False) -> list:
    """The contents of `$…$`, `$$…$$`, `\\(…\\)` and `\\[…\\]`, in order (with `with_positions`: as (start, end,
    content), delimiters included); one pass, so unclosed ones cost nothing."""
    segments, opener, start, begin = [], None, 0, 0
    for delimiter in MATH_DELIMITER.finditer(text):
        token = delimiter.group()
        if opener is None and token in CLOSER:
            opener, start, begin = token, delimiter.end(), delimiter.start()
        elif opener is not None and token == CLOSER[opener]:
            if content := text[start : delimiter.start()].strip():
                segments.append((begin, delimiter.end(), content) if with_positions else content)
            opener = None
    return segments


MATH_SEPARATOR = re.compile(r"\s*(,|;|\band\b|\bor\b|或者?|和|、|及)?\s*")


def _last_math(text: str) -> str | None:
    """The last inline or display math in the answer part (`... so we get $5$`), with the math just before it when
    only a separator stands between them: `$x<-1$ or $x>1$` gives `x<-1 or x>1`, `$2$ and $3$` gives `2 and 3`."""
    segments = math_segments(text, with_positions=True)
    if not segments:
        return None
    start, _, answer = segments[-1]
    for begin, end, content in reversed(segments[:-1]):
        gap = MATH_SEPARATOR.fullmatch(text, end, start)
        if gap is None:
            break
        answer = f"{content}{' ' + gap[1] + ' ' if gap[1] and gap[1] not in ',;' else (gap[1] or ' ') + ' '}{answer}"
        start = begin
    return answer


def _hashes(text: str) -> str | None:
    matches = HASHES.findall(text)
    return matches[-1] if matches else None


def _last_number(text: str) -> str | None:
    matches = NUMBER.findall(text)
    return matches[-1].rstrip(",") if matches else None


RULES: dict[str, Callable[[str], str | None]] = {
    "several_boxes": _several_boxes,
    "boxed": last_braced,
    "answer_is": _answer_is,
    "choice": _choice,
    "zh_therefore": _zh_therefore,
    "hashes": _hashes,
    "bare": _bare,
    "last_math": _last_math,
    "last_number": _last_number,
}

# Tried in order; the first rule that finds something decides. The last number is a fallback: it is tried only where
# no other rule finds an answer, and scoring refuses it in a completion that was cut off or where the question states it.
EXTRACTORS: dict[str, tuple[str, ...]] = {
    "math": ("several_boxes", "boxed", "answer_is", "choice", "zh_therefore", "bare", "last_math", "last_number"),
    "number": ("several_boxes", "boxed", "hashes", "answer_is", "zh_therefore", "bare", "last_number"),
    "integer": ("several_boxes", "boxed", "answer_is", "zh_therefore", "bare", "last_number"),
    "last_boxed": ("boxed",),
}
FALLBACKS = frozenset({"last_number"})


MAX_CANDIDATES = 32


def candidates(text: str) -> list[tuple[int, str]]:
    """Every answer the completion states on its way, reasoning included, in order: each `\\boxed{}` and each
    "the answer is …", as (characters of `text` up to the end of it, answer); the first 32.

    Markdown bold (`**`) is read through, and the positions are still those of `text` itself."""
    plain, origin = _without_bold(text)
    found = [(end, content) for _, end, content in boxes(plain)[:MAX_CANDIDATES] if content]
    for index, phrase in enumerate(ANSWER_IS.finditer(plain)):
        if index == MAX_CANDIDATES:
            break
        end, answer = _statement(plain, phrase.end())
        if answer and "\\boxed" not in answer:
            found.append((end, answer))
    if origin is None:
        return sorted(found)[:MAX_CANDIDATES]
    return [(origin[end - 1] + 1 if end else 0, answer) for end, answer in sorted(found)[:MAX_CANDIDATES]]


def _without_bold(text: str) -> tuple[str, list[int] | None]:
    """`text` without its `**`, and the position in `text` of each character kept (None: nothing removed)."""
    if "**" not in text:
        return text, None
    kept: list[str] = []
    origin: list[int] = []
    at = 0
    while at < len(text):
        if text.startswith("**", at):
            at += 2
            continue
        kept.append(text[at])
        origin.append(at)
        at += 1
    return "".join(kept), origin


def extract(text: str, extractor: str) -> tuple[str | None, str | None]:
    """(answer, rule that fired), or (None, None) when no rule of the extractor matches. An answer marker followed by
    prose ("Answer: To determine …") gives (None, "prose_after_marker"): the answer it marks is missing, and no later
    rule or fallback stands in for it."""
    text = half_width(text)
    for rule in EXTRACTORS[extractor]:
        if rule in FALLBACKS and extractor == "math" and not on(rule):
            continue
        answer = RULES[rule](text)
        if answer and rule == "answer_is" and is_prose(answer) and on("prose_after_marker"):
            return None, "prose_after_marker"
        if answer:
            return answer, rule
    return None, None


OPENERS = re.compile(  # how a sentence of reasoning, not an answer, begins
    r"(?:okay|ok|alright|all\s+right|well|hmm|wait|let(?:'s|\s+me|\s+us)?|to|first(?:ly)?|now|we|i|in\s+order|given"
    r"|since|step)\b",
    re.I,
)


def is_prose(statement: str) -> bool:
    """Whether what follows an answer marker is a sentence of reasoning rather than an answer: it holds no digit and
    no math, and it begins as reasoning does ("To determine …", "Okay", "Let me …")."""
    return not re.search(r"[\d$\\=^_{}]|\b[A-E]\b", statement) and bool(OPENERS.match(statement.strip()))
