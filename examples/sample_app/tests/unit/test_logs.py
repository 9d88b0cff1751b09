import io
import json
import logging

from sample_app.logs import JsonFormatter, log_event, setup_logging


def record(message="hello", **extra):
    logger = logging.getLogger("sample_app.test")
    return logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, None, None, extra=extra)


def test_a_record_becomes_one_json_object_with_its_extra_fields():
    line = JsonFormatter().format(record("GET /healthz 200", event="request", status=200, path="/healthz"))
    entry = json.loads(line)
    assert entry["level"] == "info"
    assert entry["event"] == "request"
    assert entry["message"] == "GET /healthz 200"
    assert entry["status"] == 200
    assert entry["path"] == "/healthz"
    assert entry["time"].endswith("+00:00")
    assert "args" not in entry
    assert "levelno" not in entry


def test_newlines_and_non_ascii_stay_on_one_line():
    line = JsonFormatter().format(record("first\nsecond", note="caf\u00e9"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "first\nsecond"
    assert entry["note"] == "caf\u00e9"
    assert entry["event"] == "message"


def test_exceptions_are_kept_in_one_field():
    logger = logging.getLogger("sample_app.test")
    error = RuntimeError("boom")
    rec = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed", None, (RuntimeError, error, None))
    entry = json.loads(JsonFormatter().format(rec))
    assert "RuntimeError: boom" in entry["exception"]


def test_values_json_cannot_encode_are_written_as_text():
    entry = json.loads(JsonFormatter().format(record(when=object)))
    assert entry["when"] == str(object)


def test_without_log_dir_lines_go_to_the_stream():
    stream = io.StringIO()
    logger = setup_logging(None, stream=stream)
    log_event(logger, "started", "listening", port=8080)
    entry = json.loads(stream.getvalue())
    assert entry["event"] == "started"
    assert entry["port"] == 8080


def test_with_log_dir_lines_go_to_access_log(tmp_path):
    logger = setup_logging(str(tmp_path / "logs"))
    log_event(logger, "request", "GET / 404", status=404)
    log_event(logger, "request", "GET /healthz 200", status=200)
    for handler in logger.handlers:
        handler.flush()
    lines = (tmp_path / "logs" / "access.log").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["status"] for line in lines] == [404, 200]
    setup_logging(None, stream=io.StringIO())  # release the file
