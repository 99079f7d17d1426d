"""What the CLI prints for people (mailproxy_cli/show.py), pure."""

from __future__ import annotations

from mailproxy_cli import show


def test_a_deferral_is_listed_when_it_happened_with_its_next_try_apart() -> None:
    record = {
        "created_at": "2026-12-06T15:30:20+00:00",
        "priority": 2,
        "account_id": "main",
        "history": [
            {
                "event_type": "deferred",
                "event_ts": 1796571073,
                "description": "4.3.0 later (SMTP 451)",
                "metadata": {"retry_count": 1, "smtp_code": 451, "attempted_ts": 1796571021},
            },
            {"event_type": "sent", "event_ts": 1796571074},
        ],
    }
    steps = show.timeline(record)
    assert [(s["what"], s["when"], s["next_try"]) for s in steps] == [
        ("accepted", "2026-12-06 15:30:20", "-"),
        ("deferred", "2026-12-06 15:30:21", "2026-12-06 15:31:13"),
        ("sent", "2026-12-06 15:31:14", "-"),
    ]
    assert "attempted_ts" not in steps[1]["detail"]


def test_recipients_are_joined_as_addresses_not_letters() -> None:
    assert show.recipients("you@example.com") == "you@example.com"
    assert show.recipients(["a@example.com", "b@example.com"]) == "a@example.com, b@example.com"
    assert show.recipients(None) == "-"


def test_a_message_in_error_has_no_sent_time() -> None:
    assert show.sent_when({"status": "error", "sent_ts": 1796571074}) == "-"
    assert show.sent_when({"status": "sent", "sent_ts": 1796571074}) == "2026-12-06 15:31:14"
