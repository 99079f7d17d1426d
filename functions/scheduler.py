"""Scheduled Lambda (EventBridge rule): one tick of the timers (docs/api.md §5.1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chalicelib.adapters.logs import json_logger
from chalicelib.config import get_settings
from chalicelib.services import bounces
from chalicelib.services.scheduler import reports_tick, retention_tick, retry_tick
from chalicelib.wiring import get_ports

logger = json_logger("mail-proxy-scheduler")
# Cold start: read and check the configuration now, so bad values stop start-up.
get_settings()


@logger.inject_lambda_context(clear_state=True)
def retry_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = retry_tick(get_ports())
    logger.info("retry tick", extra={"tenants": len(result["enqueued"])})
    return {"enqueued": len(result["enqueued"])}


@logger.inject_lambda_context(clear_state=True)
def reports_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = reports_tick(get_ports())
    logger.info("reports tick", extra={"tenants": len(result["enqueued"])})
    return {"enqueued": len(result["enqueued"])}


@logger.inject_lambda_context(clear_state=True)
def retention_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = retention_tick(get_ports())
    logger.info("retention tick", extra={"removed": result["removed"]})
    return result


@logger.inject_lambda_context(clear_state=True)
def bounces_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = bounces.poll(get_ports())
    logger.info("bounce tick", extra=result)
    return result
