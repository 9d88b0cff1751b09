"""Migration file names, version ordering, checksums, placeholders and statement splitting."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.files import (
    REPEATABLE,
    UNDO,
    VERSIONED,
    Version,
    checksum,
    is_transactional,
    load_migrations,
    normalise,
    parse_name,
    render,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.statements import split_postgresql, split_sqlite


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("V1__create_items.sql", (VERSIONED, "1", "create items")),
        ("V2.0.3__add_price.sql", (VERSIONED, "2.0.3", "add price")),
        ("V1_1__underscore_version.sql", (VERSIONED, "1.1", "underscore version")),
        ("U2__drop_price.sql", (UNDO, "2", "drop price")),
        ("R__items_view.sql", (REPEATABLE, None, "items view")),
    ],
)
def test_file_names_give_kind_version_and_description(name, expected):
    kind, version, description = parse_name(name)
    assert (kind, str(version) if version else None, description) == expected


@pytest.mark.parametrize(
    "name", ["V1_create.sql", "v1__lower.sql", "V__no_version.sql", "R1__versioned_repeatable.sql", "X1__x.sql"]
)
def test_names_outside_the_convention_are_not_migrations(name):
    assert parse_name(name) is None


def test_versions_compare_numerically_not_as_text():
    texts = ["10", "2", "1.10", "1.2", "1", "2.0.3", "1.1"]
    assert [str(v) for v in sorted(Version(t) for t in texts)] == ["1", "1.1", "1.2", "1.10", "2", "2.0.3", "10"]
    assert Version("1.0") == Version("1")
    assert Version("01.2") == Version("1.2")


def test_invalid_version_is_one_clear_line():
    with pytest.raises(ConfigurationError, match=r"'1\.a' is not a migration version"):
        Version("1.a")


def test_checksum_ignores_line_endings_and_bom():
    lf = normalise(b"CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n")
    crlf = normalise(b"\xef\xbb\xbfCREATE TABLE a (id int);\r\nINSERT INTO a VALUES (1);\r\n")
    assert checksum(lf) == checksum(crlf)
    assert checksum(lf) != checksum(lf + "-- changed\n")


def test_file_that_is_not_utf8_is_named():
    with pytest.raises(ConfigurationError, match=r"V1__x\.sql is not valid UTF-8"):
        normalise(b"SELECT '\xff';", "V1__x.sql")


def test_no_transaction_marker_is_read_from_the_leading_comments():
    assert not is_transactional("-- conveyor:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\n")
    assert not is_transactional("-- builds the index online\n--  Conveyor:No-Transaction \nCREATE INDEX ...;")
    assert is_transactional("CREATE TABLE t (x int);\n-- conveyor:no-transaction\n")


def test_placeholders_are_replaced_escaped_and_masked():
    text = "GRANT SELECT ON ${schema}.items TO ${user} IDENTIFIED '${password}'; -- $${literal}"
    out = render(text, "V1__x.sql", {"schema": "app", "user": "reader"}, {"password": "s3cret"})
    assert out == "GRANT SELECT ON app.items TO reader IDENTIFIED 's3cret'; -- ${literal}"
    masked = render(text, "V1__x.sql", {"schema": "app", "user": "reader"}, {"password": "s3cret"}, mask=True)
    assert "s3cret" not in masked and "********" in masked


def test_unknown_placeholder_names_the_file_and_the_placeholder():
    with pytest.raises(ConfigurationError, match=r"V3__grant\.sql uses the placeholder \$\{owner\}"):
        render("ALTER TABLE t OWNER TO ${owner};", "V3__grant.sql", {}, {})


def test_loading_a_directory_reports_bad_names_and_duplicate_versions(tmp_path):
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "V1.0__b.sql").write_text("SELECT 2;")
    (tmp_path / "V2_typo.sql").write_text("SELECT 3;")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "V3__nested.sql").write_text("SELECT 4;")
    (tmp_path / "README.md").write_text("not a migration")
    found = load_migrations(str(tmp_path))
    assert [m.script for m in found.versioned] == ["V1.0__b.sql", "sub/V3__nested.sql"]
    assert any("V1.0__b.sql and V1__a.sql have the same version 1" in p for p in found.problems)
    assert any(p.startswith("V2_typo.sql does not follow the naming convention") for p in found.problems)


def test_missing_directory_is_one_clear_line(tmp_path):
    with pytest.raises(ConfigurationError, match="is not a directory"):
        load_migrations(str(tmp_path / "nope"))


def test_sqlite_split_keeps_strings_triggers_and_lines():
    sql = (
        "-- header\n"
        "CREATE TABLE a (x text);\n"
        "INSERT INTO a VALUES ('semi;colon'); INSERT INTO a VALUES ('b');\n"
        "\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = x || ';';\nEND;\n"
        "SELECT 1"
    )
    statements = split_sqlite(sql)
    assert [line for line, _sql in statements] == [2, 3, 3, 5, 8]
    assert statements[1][1] == "INSERT INTO a VALUES ('semi;colon');"
    assert statements[3][1].endswith("END;")


def test_postgresql_split_honours_dollar_quotes_comments_and_escapes():
    sql = (
        "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\n"
        "/* a; /* nested; */ comment */ SELECT E'it\\'s; ok', 'x''y;z', \"semi;col\";\n"
        "-- trailing; comment\n"
        "CREATE INDEX CONCURRENTLY i ON t (x)"
    )
    statements = split_postgresql(sql)
    assert [line for line, _sql in statements] == [1, 2, 4]
    assert statements[0][1].endswith("LANGUAGE plpgsql;")
    assert statements[2][1].endswith("\nCREATE INDEX CONCURRENTLY i ON t (x)")
