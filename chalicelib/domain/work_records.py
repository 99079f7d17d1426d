"""What a work record (the SQS claim check) says: a tenant with a reason, or, on the
system queue, a kind of system work."""

from __future__ import annotations

from typing import Final

# The system queue's request for a bounce poll now (POST /instance/reload-bounce).
BOUNCE_POLL: Final = "bounce-poll"
