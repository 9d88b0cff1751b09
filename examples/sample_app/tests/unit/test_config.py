from fractions import Fraction

import pytest

from sample_app.config import (
    DEFAULT_DATABASE,
    DEFAULT_HOST,
    DEFAULT_PORT,
    ConfigError,
    load_config,
    redact_dsn,
)


def test_defaults_apply_without_flags_or_environment():
    config = load_config([], environ={})
    assert config.host == DEFAULT_HOST == "127.0.0.1"
    assert config.port == DEFAULT_PORT == 8080
    assert config.database == DEFAULT_DATABASE == "sample_app.db"
    assert config.error_rate == 0
    assert config.log_dir is None
    assert config.pid_file is None
    assert config.commit is None
    assert not config.is_postgresql


def test_environment_variables_fill_in_missing_flags():
    environ = {
        "SAMPLE_APP_HOST": "0.0.0.0",
        "SAMPLE_APP_PORT": "9090",
        "SAMPLE_APP_DATABASE": "postgresql://app:secret@db.example:5432/app",
        "SAMPLE_APP_ERROR_RATE": "0.25",
        "SAMPLE_APP_LOG_DIR": "/var/log/sample-app",
        "SAMPLE_APP_PID_FILE": "/run/sample-app.pid",
        "SAMPLE_APP_COMMIT": "0123abc",
    }
    config = load_config([], environ=environ)
    assert config.host == "0.0.0.0"
    assert config.port == 9090
    assert config.is_postgresql
    assert config.error_rate == Fraction(1, 4)
    assert config.log_dir == "/var/log/sample-app"
    assert config.pid_file == "/run/sample-app.pid"
    assert config.commit == "0123abc"


def test_flags_win_over_environment_variables():
    config = load_config(
        ["--port", "9100", "--error-rate", "0.5", "--database", "/srv/app.db"],
        environ={"SAMPLE_APP_PORT": "9090", "SAMPLE_APP_ERROR_RATE": "1", "SAMPLE_APP_DATABASE": "x"},
    )
    assert config.port == 9100
    assert config.error_rate == Fraction(1, 2)
    assert config.database == "/srv/app.db"


def test_empty_environment_variable_means_unset():
    assert load_config([], environ={"SAMPLE_APP_PORT": ""}).port == DEFAULT_PORT


def test_error_rate_keeps_the_exact_decimal_value():
    assert load_config(["--error-rate", "0.1"], environ={}).error_rate == Fraction(1, 10)


def test_sqlite_url_form_gives_the_file_path():
    config = load_config(["--database", "sqlite:////srv/app/app.db"], environ={})
    assert config.sqlite_path == "/srv/app/app.db"
    assert load_config(["--database", "data/app.db"], environ={}).sqlite_path == "data/app.db"


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["--error-rate", "1.7"], {}, "--error-rate='1.7' is not an error rate"),
        (["--error-rate", "-0.1"], {}, "--error-rate='-0.1' is not an error rate"),
        (["--error-rate", "half"], {}, "--error-rate='half' is not an error rate"),
        ([], {"SAMPLE_APP_ERROR_RATE": "2"}, "SAMPLE_APP_ERROR_RATE='2' is not an error rate"),
        (["--port", "abc"], {}, "--port='abc' is not a TCP port"),
        (["--port", "70000"], {}, "--port='70000' is not a TCP port"),
        ([], {"SAMPLE_APP_PORT": "abc"}, "SAMPLE_APP_PORT='abc' is not a TCP port"),
        (["--database", "mysql://x/y"], {}, "unsupported scheme 'mysql'"),
        (["--database", "postgresql:///app"], {}, "--database has no host"),
        (["--host", " "], {}, "--host is empty"),
        (["--no-such-flag"], {}, "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_setting(argv, environ, expected):
    with pytest.raises(ConfigError) as caught:
        load_config(argv, environ=environ)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_redact_dsn_hides_the_password_only():
    assert redact_dsn("postgresql://app:s3cret@db:5432/app") == "postgresql://app:***@db:5432/app"
    assert redact_dsn("postgresql://app@db/app") == "postgresql://app@db/app"
    assert redact_dsn("/srv/app.db") == "/srv/app.db"
