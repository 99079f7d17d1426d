"""Ports for unit tests of services: the fakes a test passes, and for every other port a
stand-in that fails the test if the service reaches for it."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.config import Settings, load_settings
from chalicelib.services.ports import Ports


class Unwired:
    """A port the test did not expect the service to use."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise AssertionError(f"the service used port {self._name!r} ({attr}), which this test did not wire")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the service used port {self._name!r}, which this test did not wire")


def fake_ports(settings: Settings | None = None, **given: Any) -> Ports:
    """A ``Ports`` of the given fakes (each implementing its protocol); the rest Unwired."""
    names = [f.name for f in dataclasses.fields(Ports) if f.name not in ("settings", "clock")]
    unknown = set(given) - set(names) - {"clock"}
    if unknown:
        raise TypeError(f"no such port: {', '.join(sorted(unknown))}")
    ports = {name: given.get(name, Unwired(name)) for name in names}
    if "clock" in given:
        ports["clock"] = given["clock"]
    return Ports(settings=settings or load_settings({"DATABASE_URL": "postgresql://unused/unused"}), **ports)
