"""The ports a use case needs, bundled so handlers can pass one object."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.adapters.crypto import Cipher
from chalicelib.adapters.queues import TenantQueues
from chalicelib.adapters.store import Store
from chalicelib.config import Settings


@dataclass(frozen=True)
class Ports:
    settings: Settings
    store: Store
    queues: TenantQueues
    cipher: Cipher
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> int:
        return int(self.clock())
