"""Block Kit validated the way Slack validates it, with Slack-style error messages.

Limits from Slack's documentation (see ``/work/shared/FIELD-NOTES.md``): 50 blocks,
section text 1-3000, fields 10 x 2000, header plain_text <= 150, context <= 10
elements, actions <= 25, button text <= 75, URL <= 3000, ``block_id`` <= 255 and
unique.  Each violation is reported with a JSON pointer, as Slack does in
``response_metadata.messages``.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
#: Undocumented cap on the total text of a message's blocks (bolt-js #2509).
MAX_BLOCKS_TEXT = 12_000

_ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "timepicker",
        "overflow",
        "radio_buttons",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "workflow_button",
    }
)
_ACCESSORY_TYPES = _ELEMENT_TYPES - {"datetimepicker"} | {"image"}


class _BlockValidator:
    """Collects Slack-style validation messages for a list of blocks."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, pointer: str, message: str) -> None:
        self.errors.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    # -- primitives

    def string(
        self, value: Any, pointer: str, *, max_len: int, min_len: int = 1, required: bool = True
    ) -> None:
        if value is None:
            if required:
                self.error(pointer, "missing required field")
            return
        if not isinstance(value, str):
            self.error(pointer, "must be a string")
            return
        if len(value) < min_len:
            self.error(pointer, f"must be more than {min_len - 1} characters")
        if len(value) > max_len:
            self.error(pointer, f"must be less than {max_len + 1} characters")

    def items(
        self, value: Any, pointer: str, *, max_items: int, min_items: int = 1
    ) -> list[Any] | None:
        if value is None:
            self.error(pointer, "missing required field")
            return None
        if not isinstance(value, list):
            self.error(pointer, "must be an array")
            return None
        if len(value) < min_items:
            self.error(pointer, f"must provide at least {min_items} items")
        if len(value) > max_items:
            self.error(pointer, f"no more than {max_items} items allowed")
        return value

    def text_object(
        self, obj: Any, pointer: str, *, max_len: int, plain_only: bool = False
    ) -> None:
        if obj is None:
            self.error(pointer, "missing required field")
            return
        if not isinstance(obj, dict):
            self.error(pointer, "must be an object")
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.error(f"{pointer}/type", "must be a valid enum value")
            return
        if plain_only and kind != "plain_text":
            self.error(f"{pointer}/type", "must be a valid enum value (expected plain_text)")
        # Slack rejects properties that belong to the other kind of text object.
        if kind == "mrkdwn" and "emoji" in obj:
            self.error(f"{pointer}/emoji", "not allowed on a mrkdwn text object")
        if kind == "plain_text" and "verbatim" in obj:
            self.error(f"{pointer}/verbatim", "not allowed on a plain_text text object")
        self.string(obj.get("text"), f"{pointer}/text", max_len=max_len)

    def image(self, obj: dict[str, Any], pointer: str) -> None:
        if "image_url" in obj:
            self.string(obj["image_url"], f"{pointer}/image_url", max_len=3000)
        elif not isinstance(obj.get("slack_file"), dict):
            self.error(pointer, "must provide either image_url or slack_file")
        self.string(obj.get("alt_text"), f"{pointer}/alt_text", max_len=2000)

    def element(
        self, obj: Any, pointer: str, allowed: frozenset[str], action_ids: set[str]
    ) -> None:
        if not isinstance(obj, dict):
            self.error(pointer, "must be an object")
            return
        kind = obj.get("type")
        if kind not in allowed:
            self.error(f"{pointer}/type", "must be a valid enum value")
            return
        if "action_id" in obj:
            self.string(obj["action_id"], f"{pointer}/action_id", max_len=255)
            if obj["action_id"] in action_ids:
                self.error(f"{pointer}/action_id", "must be unique within the block")
            elif isinstance(obj["action_id"], str):
                action_ids.add(obj["action_id"])
        if kind == "button":
            self.text_object(obj.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
            if "url" in obj:
                self.string(obj["url"], f"{pointer}/url", max_len=3000)
            if "value" in obj:
                self.string(obj["value"], f"{pointer}/value", max_len=2000)
            if "style" in obj and obj["style"] not in ("primary", "danger"):
                self.error(f"{pointer}/style", "must be a valid enum value")
        elif kind == "image":
            self.image(obj, pointer)

    # -- blocks

    def blocks(self, blocks: Any, pointer: str) -> None:
        items = self.items(blocks, pointer, max_items=MAX_BLOCKS, min_items=0)
        if items is None:
            return
        block_ids: set[str] = set()
        for index, block in enumerate(items):
            self.block(block, f"{pointer}/{index}", block_ids)

    def block(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        if not isinstance(block, dict):
            self.error(pointer, "must be an object")
            return
        if "block_id" in block:
            self.string(block["block_id"], f"{pointer}/block_id", max_len=255)
            if block["block_id"] in block_ids:
                self.error(f"{pointer}/block_id", "must be unique within the message")
            elif isinstance(block["block_id"], str):
                block_ids.add(block["block_id"])
        kind = block.get("type")
        check = {
            "section": self.section,
            "header": self.header,
            "context": self.context,
            "divider": self.divider,
            "actions": self.actions,
            "rich_text": self.rich_text,
            "image": self.image_block,
        }.get(kind if isinstance(kind, str) else "")
        if check is None:
            self.error(f"{pointer}/type", f"must be a valid enum value (unsupported type {kind!r})")
            return
        check(block, pointer)

    def section(self, block: dict[str, Any], pointer: str) -> None:
        if "text" not in block and "fields" not in block:
            self.error(pointer, "must provide either text or fields")
        if "text" in block:
            self.text_object(block["text"], f"{pointer}/text", max_len=3000)
        if "fields" in block:
            fields = self.items(block["fields"], f"{pointer}/fields", max_items=10)
            for index, obj in enumerate(fields or []):
                self.text_object(obj, f"{pointer}/fields/{index}", max_len=2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory", _ACCESSORY_TYPES, set())

    def header(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("text"), f"{pointer}/text", max_len=150, plain_only=True)

    def context(self, block: dict[str, Any], pointer: str) -> None:
        elements = self.items(block.get("elements"), f"{pointer}/elements", max_items=10)
        for index, obj in enumerate(elements or []):
            here = f"{pointer}/elements/{index}"
            if isinstance(obj, dict) and obj.get("type") == "image":
                self.image(obj, here)
            else:
                self.text_object(obj, here, max_len=3000)

    def divider(self, block: dict[str, Any], pointer: str) -> None:
        pass

    def actions(self, block: dict[str, Any], pointer: str) -> None:
        elements = self.items(block.get("elements"), f"{pointer}/elements", max_items=25)
        action_ids: set[str] = set()
        for index, obj in enumerate(elements or []):
            self.element(obj, f"{pointer}/elements/{index}", _ELEMENT_TYPES, action_ids)

    def rich_text(self, block: dict[str, Any], pointer: str) -> None:
        # Rich text is accepted as long as it has the right shape; its content is
        # not markup and the monitor does not generate it.
        if not isinstance(block.get("elements"), list):
            self.error(f"{pointer}/elements", "must be an array")

    def image_block(self, block: dict[str, Any], pointer: str) -> None:
        self.image(block, pointer)
        if "title" in block:
            self.text_object(block["title"], f"{pointer}/title", max_len=2000, plain_only=True)


def validate_blocks(blocks: Any, pointer: str = "/blocks") -> list[str]:
    """Validate a Block Kit ``blocks`` array like Slack does.

    Returns Slack-style messages (``"[ERROR] must be less than 3001 characters
    [json-pointer:/blocks/0/text/text]"``); an empty list means valid.  The
    12,000-character total is checked separately by :func:`blocks_text_length`
    because Slack reports it with a different error code.
    """
    validator = _BlockValidator()
    validator.blocks(blocks, pointer)
    return validator.errors


def blocks_text_length(blocks: Any) -> int:
    """Total length of every ``text`` string inside ``blocks`` (what Slack caps at 12,000)."""
    if isinstance(blocks, dict):
        return sum(
            len(value) if key == "text" and isinstance(value, str) else blocks_text_length(value)
            for key, value in blocks.items()
        )
    if isinstance(blocks, list):
        return sum(blocks_text_length(item) for item in blocks)
    return 0
