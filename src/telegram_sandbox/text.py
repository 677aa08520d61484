"""Message text as Telegram stores it: entities in UTF-16 offsets, HTML parse mode, commands."""

import html.parser
import re

from telegram_sandbox.errors import bad_request
from telegram_sandbox.record import Json

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}")
_URL = re.compile(r"(?<![\w/])https?://[^\s]+")

_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "a": "text_link",
}


def utf16_len(text: str) -> int:
    """The length of `text` in UTF-16 code units, as entity offsets count."""
    return len(text.encode("utf-16-le")) // 2


def detect_entities(text: str) -> list[Json]:
    """The entities Telegram detects in plain text a person sends: commands, mentions, URLs."""
    found: list[tuple[int, int, str]] = []
    for pattern, kind in ((_COMMAND, "bot_command"), (_MENTION, "mention"), (_URL, "url")):
        found.extend((m.start(), m.end(), kind) for m in pattern.finditer(text))
    found.sort()
    return [
        {"offset": utf16_len(text[:start]), "length": utf16_len(text[start:end]), "type": kind}
        for start, end, kind in found
    ]


def command_of(text: str | None, entities: list[Json]) -> str | None:
    """The command a message starts with ("/start" of "/start@bot x"), if any."""
    if not text:
        return None
    for entity in entities:
        if entity.get("type") == "bot_command" and entity.get("offset") == 0:
            return text[: entity["length"]].split("@", 1)[0]
    return None


class _HtmlToEntities(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[Json] = []
        self._open: list[tuple[str, int, Json]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = _TAGS.get(tag)
        if tag == "span" and ("class", "tg-spoiler") in attrs:
            kind = "spoiler"
        if kind is None:
            raise bad_request(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset '
                f"{len(self.text.encode())}"
            )
        extra: Json = {}
        if kind == "text_link":
            href = dict(attrs).get("href")
            if not href:
                raise bad_request("can't parse entities: Can't find end of a URL")
            extra["url"] = href
        self._open.append((tag, utf16_len(self.text), extra | {"type": kind}))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            raise bad_request(
                f"can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
            )
        _, start, entity = self._open.pop()
        length = utf16_len(self.text) - start
        if length:
            self.entities.append({"offset": start, "length": length} | entity)

    def handle_data(self, data: str) -> None:
        self.text += data

    def unclosed(self) -> str | None:
        """The innermost tag still open at the end, if any."""
        return self._open[-1][0] if self._open else None


def parse_html(text: str) -> tuple[str, list[Json]]:
    """Strip Telegram's HTML subset from `text`, returning the plain text and its entities.

    Raises:
        ApiError: 400 "can't parse entities" for unsupported or unbalanced tags.
    """
    parser = _HtmlToEntities()
    parser.feed(text)
    parser.close()
    tag = parser.unclosed()
    if tag is not None:
        raise bad_request(f"can't parse entities: Can't find end tag corresponding to \"{tag}\"")
    parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return parser.text, parser.entities


_MD2_ESCAPED = re.compile(r"\\([_*\[\]()~`>#+\-=|{}.!\\])")


def format_text(
    text: str, parse_mode: str | None, entities: list[Json] | None
) -> tuple[str, list[Json]]:
    """The stored text and entities of a message the bot sends.

    HTML is parsed into entities; MarkdownV2 and Markdown only lose their escapes and markers
    (the sandbox does not derive entities from them); explicit `entities` are kept as given.
    """
    if entities:
        return text, entities
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return _MD2_ESCAPED.sub(r"\1", re.sub(r"(?<!\\)[*_~`|]", "", text)), []
    if mode == "markdown":
        return re.sub(r"[*_`]", "", text), []
    return text, []
