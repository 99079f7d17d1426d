"""Migration Lambda: applies the packaged SQL migrations to the stack's database.

Invoked by the template's ``DatabaseMigration`` custom resource on every deploy whose
migrations changed (CloudFormation's custom resource protocol: the answer is PUT to the
presigned ``ResponseURL``), or directly (``python -m infra.deploy --migrate``) with any
event. Idempotent and safe when two run at once: the migrator holds a PostgreSQL advisory
lock and records what it applied.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.database import Database
from chalicelib.adapters.logs import json_logger
from chalicelib.config import get_settings
from chalicelib.errors import ConfigurationError
from chalicelib.wiring import resolve_secrets

logger = json_logger("mail-proxy-migrate")
get_settings()

ANSWER_MARGIN = 15.0  # s kept for answering CloudFormation


def migrate() -> list[str]:
    settings = resolve_secrets(get_settings())
    if not settings.database_url:
        raise ConfigurationError("no database configured (DATABASE_URL or MAILPROXY_DATABASE_SECRET_ARN)")
    return Database(settings.database_url, max_size=1).migrate()


def _answer(event: dict[str, Any], status: str, reason: str, data: dict[str, Any]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['StackId']}/migrations",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def _within(seconds: float) -> list[str]:
    """Migrate, or raise TimeoutError once ``seconds`` have passed (the migration goes on in
    the background, holding its lock, until Lambda ends the environment)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["applied"] = migrate()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="migrate", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"migrations still running after {seconds:.0f}s")
    if "error" in outcome:
        raise outcome["error"]
    return list(outcome["applied"])


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    custom_resource = "ResponseURL" in event and "RequestType" in event
    if custom_resource and event["RequestType"] == "Delete":
        # Removing the stack keeps the data: the database has its own deletion policy.
        _answer(event, "SUCCESS", "nothing to undo", {})
        return {"applied": []}
    try:
        # CloudFormation must hear an answer before Lambda's timeout ends this invocation,
        # or the stack waits an hour for one.
        applied = _within(context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN)
    except Exception as exc:
        logger.exception("migration failed")
        if custom_resource:
            _answer(event, "FAILED", f"migration failed: {type(exc).__name__}: {exc}", {})
            return {"applied": [], "error": str(exc)}
        raise
    logger.info("migrations applied", extra={"applied": applied})
    if custom_resource:
        _answer(event, "SUCCESS", f"applied {len(applied)}", {"Applied": ",".join(applied) or "none"})
    return {"applied": applied}
