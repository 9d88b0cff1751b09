"""Structured logging: one JSON object per line, to LOG_DIR/access.log or to stderr."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import datetime, timezone

LOGGER_NAME = "sample_app"
ACCESS_LOG = "access.log"

# Attributes every LogRecord has; anything else was passed through ``extra`` and becomes a field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, event, message, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", "message"),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


def setup_logging(log_dir: str | None = None, stream=None) -> logging.Logger:
    """Configure the app logger; returns it. Raises OSError if LOG_DIR cannot be written."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
        # WatchedFileHandler reopens the file after logrotate moves it away.
        handler: logging.Handler = logging.handlers.WatchedFileHandler(
            os.path.join(log_dir, ACCESS_LOG), encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def log_event(logger: logging.Logger, event: str, message: str, level=logging.INFO, **fields):
    logger.log(level, message, extra={"event": event, **fields})
