"""JSON logs for every function (Powertools' Logger): one object per line, with the
function's service name, the Lambda request id, and the keys a handler appends (tenant_id,
message_id, request_id). chalicelib's module loggers (``logging.getLogger(__name__)``) write
through the same handler and formatter, so a warning deep in a service carries the
request's keys too."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers


def json_logger(service: str) -> Logger:
    logger = Logger(service=service)
    # The parent of every chalicelib.* logger; records propagate up to it, and it gets the
    # Powertools handler (copy_config_to_registered_loggers configures top-level loggers).
    logging.getLogger("chalicelib")
    copy_config_to_registered_loggers(source_logger=logger, include={"chalicelib"})
    return logger
