"""Parsing Meta's sample webhook bodies (tests/channels/data/whatsapp/) into typed values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.channels.whatsapp.payloads import (
    ErrorInfo,
    is_bsuid,
    parse_error,
    parse_notification,
    parse_send_response,
)
from handlers.messages import Kind

DATA = Path(__file__).parent / "data" / "whatsapp"


def sample(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def test_text_sample() -> None:
    (msg,) = parse_notification(sample("text")).messages
    assert msg.kind == Kind.TEXT and msg.text == "Does it come in another color?"
    assert msg.user_id == msg.wa_id == "16505551234"
    assert msg.wamid.startswith("wamid.")
    assert msg.display_name == "Sheena Nelson"
    assert msg.timestamp == datetime.fromtimestamp(1749416383, tz=UTC)
    assert msg.phone_number_id == "106540352242922"


def test_users_are_keyed_by_bsuid_when_there_is_one() -> None:
    (msg,) = parse_notification(sample("text_bsuid")).messages
    assert msg.user_id == "US.13491208655302741918" and msg.wa_id == "16505551234"
    (only,) = parse_notification(sample("text_username_only")).messages
    assert only.user_id == "US.13491208655302741918" and only.wa_id is None


@pytest.mark.parametrize(
    ("name", "kind", "payload"),
    [
        ("button_reply", Kind.BUTTON, "unique-button-identifier-here"),
        ("list_reply", Kind.BUTTON, "priority_express"),
        ("template_button", Kind.BUTTON, "Unsubscribe from Promos"),
        ("image", Kind.PHOTO, None),
        ("audio", Kind.VOICE, None),
        ("video", Kind.VIDEO, None),
        ("document", Kind.DOCUMENT, None),
        ("sticker", Kind.STICKER, None),
        ("location", Kind.LOCATION, None),
        ("contacts", Kind.CONTACT, None),
        ("unsupported", Kind.UNSUPPORTED, None),
    ],
)
def test_every_message_type(name: str, kind: Kind, payload: str | None) -> None:
    (msg,) = parse_notification(sample(name)).messages
    assert msg.kind == kind and msg.payload == payload


def test_own_contact_card_is_the_users_phone() -> None:
    (msg,) = parse_notification(sample("contacts")).messages
    assert msg.contact_phone == "+16505551234"
    other = sample("contacts")
    other["entry"][0]["changes"][0]["value"]["messages"][0]["contacts"][0]["phones"][0]["wa_id"] = "999"
    assert parse_notification(other).messages[0].contact_phone is None


def test_reactions_are_not_messages_to_answer() -> None:
    assert parse_notification(sample("reaction")).messages == []


def test_statuses() -> None:
    (sent,) = parse_notification(sample("status_sent")).statuses
    assert sent.status == "sent" and sent.recipient_id == "16505551234" and sent.errors == ()
    (failed,) = parse_notification(sample("status_failed")).statuses
    assert failed.status == "failed" and failed.errors[0].code == 131047


@pytest.mark.parametrize("body", [None, [], {"entry": "x"}, {"entry": [{"changes": [{"value": 3}]}]}, "text"])
def test_malformed_bodies_give_nothing(body: Any) -> None:
    notification = parse_notification(body)
    assert notification.messages == [] and notification.statuses == []


def test_graph_answers() -> None:
    assert parse_send_response({"messages": [{"id": "wamid.X", "message_status": "accepted"}]}) == "wamid.X"
    assert parse_send_response({"error": {}}) is None
    assert parse_error({"error": {"message": "(#131047) Re-engagement message", "code": 131047}}) == ErrorInfo(
        131047, "(#131047) Re-engagement message", None
    )


def test_bsuid_shape() -> None:
    assert is_bsuid("US.13491208655302741918") and is_bsuid("US.ENT.11815799212886844830")
    assert not is_bsuid("6281234567890") and not is_bsuid("+6281234567890")
