"""Small talk: greetings, thanks, goodbyes, "are you a bot?", yes/no, and vague requests
for help ("I need help with my account please"), in English and Chinese.

``classify_small_talk`` says whether a message is *only* small talk (then the bot replies
briefly and honestly, without searching the knowledge base) and gives the message with the
small-talk phrases removed ("Hi! Where is my order?" -> "Where is my order?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CJK_CHARS_PER_WORD = 2  # to compare Chinese message lengths with word counts
YES_NO_MAX_WORDS = 3  # "yes please", "no thanks": longer messages say more than yes or no

GREETING, THANKS, GOODBYE, BOT_QUESTION, HELP_REQUEST, AFFIRM, DENY = (
    "greeting", "thanks", "goodbye", "bot_question", "help_request", "affirm", "deny")

_GENERIC_OBJECT = (r"(?:my |the |an? |our |this |some )?(?:account|order|orders|problem|issue|question|questions|"
                   r"something|thing|purchase|booking|appointment|card|bill|payment|stuff)")
# Order matters: the first category found in a pure small-talk message is its kind.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (BOT_QUESTION, re.compile(
        r"\b(are|r) (you|u) (a |an )?(real )?(bot|robot|human|person|machine|ai|chatbot|computer)\b|"
        r"\bam i (talking|speaking|chatting) (to|with) (a |an )?(real )?(bot|robot|human|person|machine|ai)\b|"
        r"\bis this (a |an )?(bot|robot|machine|ai|chatbot)\b|"
        r"你是(不是)?(机器人|真人|人工智能|人|ai|AI|机器)(吗|嘛|么)?|是(机器人|真人)(吗|嘛)", re.I)),
    (HELP_REQUEST, re.compile(
        rf"\b(i|we) (need|want|would like|'d like) (some )?help( with {_GENERIC_OBJECT})?\b|"
        rf"\b(can|could|would) you (please )?help( me)?( with {_GENERIC_OBJECT})?\b|"
        rf"\bi have (a|an|one|some|a few) (question|questions|problem|issue)( with {_GENERIC_OBJECT}| about {_GENERIC_OBJECT})?\b|"
        rf"\b(help|help me|support)\b(?= *[.!?]*$)|"
        r"(我)?(需要|想要|要)(一些|点)?帮助|(你)?能(不能)?帮(帮)?我(吗)?|我有(一个|个|些)?问题", re.I)),
    (GOODBYE, re.compile(
        r"\b(good ?bye|bye( bye)?|see (you|ya)( later| soon)?|have a (nice|good|great) (day|evening|weekend)|"
        r"that'?s (all|it)( for now)?|take care)\b|再见|拜拜|回头见|没(有)?(别的|其他)?(事|问题)了", re.I)),
    (THANKS, re.compile(
        r"\b(thanks?( you)?|thank u|thx|ty|cheers|much appreciated|appreciate it|many thanks|"
        r"(that|this) (helps|helped|was helpful)|great|perfect|awesome|got it)\b|谢谢(你|您)?|多谢|感谢|谢了|好的谢谢", re.I)),
    (GREETING, re.compile(
        r"\b(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening)|yo)\b|"
        r"你好|您好|嗨|哈喽|哈啰|早上好|下午好|晚上好|在吗|在不在", re.I)),
    (AFFIRM, re.compile(r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please do|please|go ahead|y)\b|^\s*(好的?|是的?|要|可以|行|嗯)",
                        re.I)),
    (DENY, re.compile(r"^\s*(no|nope|nah|no thanks|not now|n)\b|^\s*(不用了?|不要|不需要|算了)", re.I)),
]
# Words that carry no request of their own next to small talk.
_FILLER = re.compile(
    r"\b(so|very|much|a lot|lots|again|there|everyone|all|guys|team|kefu|bot|please|pls|for (your|the) help|"
    r"for that|for everything|and|oh|ah|ok|okay|just|then|for now|me|to you|too|you|thanks|thank)\b|"
    r"[\s\W_]|啊|呀|哦|噢|呢|吧|了|哈|嗯|非常|太|真|的|一下|你们|你|您|大家|们|帮助|帮忙|多|很", re.I)


@dataclass(frozen=True)
class SmallTalk:
    kind: str | None   # the small-talk kind when the message is only small talk, else None
    found: tuple[str, ...]  # every kind found in the message
    remainder: str     # the message without its small-talk phrases (stripped)


def classify_small_talk(text: str, *, max_words: int) -> SmallTalk:
    found: list[str] = []
    remainder = text
    for kind, pattern in _PATTERNS:
        if kind in (AFFIRM, DENY):
            continue
        stripped = pattern.sub(" ", remainder)
        if stripped != remainder:
            found.append(kind)
            remainder = stripped
    leftover = _FILLER.sub("", remainder)
    words = len(text.split()) if re.search(r"[A-Za-z]", text) else len(text) // CJK_CHARS_PER_WORD
    if not leftover and found and words <= max_words:
        return SmallTalk(found[0], tuple(found), "")
    if not found and words <= YES_NO_MAX_WORDS:
        for kind in (AFFIRM, DENY):
            match = _PATTERNS[[k for k, _p in _PATTERNS].index(kind)][1].match(text)
            if match and not _FILLER.sub("", text[match.end():]):
                return SmallTalk(kind, (kind,), "")
    cleaned = re.sub(r"^[\s,.!;:，。！；、]+", "", remainder).strip() if GREETING in found else text.strip()
    return SmallTalk(None, tuple(found), cleaned or text.strip())
