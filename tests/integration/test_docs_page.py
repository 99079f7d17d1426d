"""The /docs page in a real browser (Debian's headless Chromium) against the running stack:
Swagger UI renders every operation and an operation's example, and no request leaves
127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Stack
from tests.support.browser import RecordingProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recording = RecordingProxy().start()
    yield recording
    recording.stop()


def test_the_reference_page_renders_operations_and_examples_from_loopback_only(
    stack: Stack, proxy: RecordingProxy, tmp_path: Path
) -> None:
    page = f"{stack.api_url}/docs"
    shot = tmp_path / "docs.png"
    proxy.browse(page, shot, f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 20_000, "a rendered page, not a blank one"

    # Deep link to one operation: Swagger UI expands it, with its example request and answer.
    dumped = proxy.browse(f"{page}#/Messages/post__commands_add_messages", shot, "--dump-dom")
    dom = dumped.stdout
    for path in ("/commands/add-messages", "/messages/{message_id}", "/suppressions", "/tenant/{tenant_id}"):
        assert path in dom, path
    assert "order-1042-confirmation" in dom, "the add-messages example is rendered"
    assert "X-API-Token" in dom, "the authentication scheme is described"
    assert "Authorize" in dom

    assert proxy.refused_for_pages == [], proxy.refused_for_pages
    asked = set(proxy.asked)
    for needed in ("/docs", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"):
        assert f"{stack.api_url}{needed}" in asked, needed
