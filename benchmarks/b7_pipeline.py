"""B7: the full pipeline through `pipeline.yml` vs the same tool commands in a plain shell script.

B7a: `ansible-playbook pipeline.yml` on a fresh copy of the sample app, a fresh state directory and
     its own inventory (a copy of inventories/local with free ports for the app hosts and the
     monitoring servers) vs a bash script running the same tools on the same kind of input (the limit).
     Target: ratio <= 1.5.
B7b: a no-change rerun of the playbook vs its first run. Target: ratio <= 0.15.

Each round runs the shell script, then the playbook twice (first run, rerun) on the same state; after
the shell run and after the playbook pair every process they started is stopped (pid files under
the state directory) and their ports are checked to be free again. The playbook is not stopped
between its first run and the rerun: a rerun against stopped services would restart them, so it
would not be a no-change run.

It also prints where the time goes: per stage for both contenders (the playbook's stages from the
pipeline_events store, the shell's from timestamps it writes), and Ansible's own cost measured on
an empty play and on plays of N no-op tasks.

Run: .venv/bin/python benchmarks/b7_pipeline.py [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _results import ANSIBLE_CORE, results_path  # benchmarks/_results.py

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "sample_app"
INFRA = ROOT / "examples" / "infra"
INVENTORY = ROOT / "inventories" / "local"
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "b7_pipeline.json"
IGNORE = shutil.ignore_patterns(
    "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".conveyor", "junit-*.xml", "*.db"
)
APP_HOSTS = ("app1", "app2", "app3")
# the stages in pipeline order; the playbook's plays and the shell's marks map onto them
STAGES = (
    "ci",
    "package",
    "release",
    "publish",
    "provision",
    "deploy staging",
    "db migrate",
    "deploy production",
    "logging",
    "monitoring",
    "feedback",
)
PLAY_STAGES = {
    "Continuous integration": "ci",
    "Package": "package",
    "Release preparation": "release",
    "Publish": "publish",
    "Provision": "provision",
    "Database migration": "db migrate",
    "Application logs": "logging",
    "Monitoring": "monitoring",
    "Node exporter on the application hosts": "monitoring",
    "Feedback": "feedback",
}

# The limit: the same tools, in the pipeline's order, with no checks a careful script would not need.
# Environment: APP STATE INFRA RULES P_APP1 P_APP2 P_APP3 P_PROM P_PUSH P_NODE.
SHELL_SCRIPT = r"""
set -euo pipefail
marks="$STATE/stage-marks"
mark() { printf '%s %s\n' "$(date +%s.%N)" "$1" >> "$marks"; }
mkdir -p "$STATE/ci/reports" "$STATE/ci/logs"
mark start

# -- CI: lint, format check, build, the three suites in parallel (as the ci role runs them)
cd "$APP"
ruff check --no-cache . > "$STATE/ci/logs/ruff.log"
ruff format --no-cache --check . > "$STATE/ci/logs/ruff-format.log"
yamllint -f parsable .
mapfile -t scripts < <(find . -name '*.sh' -not -path './.venv/*')
if [ "${#scripts[@]}" -gt 0 ]; then shellcheck "${scripts[@]}"; fi
rm -rf dist
python -m build --no-isolation --wheel --sdist --outdir dist . > "$STATE/ci/logs/build.log" 2>&1
pids=()
for suite in unit integration e2e; do
  python -m pytest "tests/$suite" -q -p no:cacheprovider --junitxml="$STATE/ci/reports/junit-$suite.xml" \
    > "$STATE/ci/logs/test-$suite.log" 2>&1 &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done
mark ci

# -- package: a reproducible tar.gz of the app tree, the wheel and sdist, sha256 sums, a manifest
name=conveyor-sample-app
wheel=$(ls dist/*.whl)
base_version=$(basename "$wheel" | cut -d- -f2)
commit=$(git -C "$APP" rev-parse --short=12 HEAD 2>/dev/null || true)
version="$base_version-dev${commit:+.g$commit}"
pkg="$STATE/packages"
mkdir -p "$pkg"
tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
  --exclude=__pycache__ --exclude='*.egg-info' -cf - src migrations pyproject.toml README.md \
  | gzip -n > "$pkg/$name-$version.tar.gz"
cp dist/*.whl dist/*.tar.gz "$pkg/"
(cd "$pkg" && sha256sum -- *.tar.gz *.whl > SHA256SUMS)
{
  printf '{"schema": 1, "name": "%s", "version": "%s", "artifacts": [' "$name" "$version"
  sep=""
  while read -r sum file; do
    printf '%s{"name": "%s", "sha256": "%s", "size": %s}' "$sep" "$file" "$sum" "$(stat -c %s "$pkg/$file")"
    sep=", "
  done < "$pkg/SHA256SUMS"
  printf ']}\n'
} > "$pkg/$name-$version.manifest.json"
mark package

# -- release preparation in a throwaway copy of the app repository: import, tag, history, bump, changelog, tag
export GIT_AUTHOR_NAME=conveyor.cicd GIT_AUTHOR_EMAIL=release@conveyor.invalid
export GIT_COMMITTER_NAME=conveyor.cicd GIT_COMMITTER_EMAIL=release@conveyor.invalid
repo="$STATE/release/sample_app"
mkdir -p "$repo.partial/history"
cp -a "$APP/." "$repo.partial/"
git init --quiet --initial-branch=main "$repo.partial"
git -C "$repo.partial" add --all
git -C "$repo.partial" commit --quiet -m "feat: import the sample application"
git -C "$repo.partial" tag --annotate -m "Release v0.1.0" v0.1.0
n=0
for msg in "feat(api): report the build commit on /version" "fix: answer 404 instead of 500 for an unknown item" \
           "perf: reuse the database connection within a request" "docs: describe the configuration variables"; do
  n=$((n + 1))
  printf '%s\n' "$msg" > "$repo.partial/history/0$n.md"
  git -C "$repo.partial" add -- history
  git -C "$repo.partial" commit --quiet -m "$msg"
done
mv --no-target-directory "$repo.partial" "$repo"
last=$(git -C "$repo" describe --tags --abbrev=0)
subjects=$(git -C "$repo" log --format=%s "$last..HEAD")
IFS=. read -r major minor patch <<< "${last#v}"
if grep -qE '^[a-z]+(\(.*\))?!:' <<< "$subjects"; then
  if [ "$major" -eq 0 ]; then minor=$((minor + 1)); patch=0; else major=$((major + 1)); minor=0; patch=0; fi
elif grep -qE '^feat(\(.*\))?:' <<< "$subjects"; then minor=$((minor + 1)); patch=0
else patch=$((patch + 1)); fi
next="$major.$minor.$patch"
sed -i "s/^__version__ = \".*\"/__version__ = \"$next\"/" "$repo/src/sample_app/__init__.py"
{ printf '# Changelog\n\n## v%s\n\n' "$next"; printf '%s\n' "$subjects" | sed 's/^/- /'; } > "$repo/CHANGELOG.md"
git -C "$repo" add -- CHANGELOG.md src/sample_app/__init__.py
git -C "$repo" commit --quiet -m "chore(release): $next"
git -C "$repo" tag --annotate -m "Release $next" "v$next"
mark release

# -- publish: copy to the file repository and verify the copies
dest="$STATE/artifacts/staging/$name/$version"
mkdir -p "$dest"
cp "$pkg"/*.tar.gz "$pkg"/*.whl "$pkg/$name-$version.manifest.json" "$dest/"
(cd "$dest" && sha256sum --quiet -c "$pkg/SHA256SUMS")
mark publish

# -- provision: examples/infra in the workspaces staging and production, state under the state dir
tf="$STATE/terraform"
mkdir -p "$tf"
export TF_DATA_DIR="$tf/.terraform" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
terraform -chdir="$INFRA" init -input=false -no-color -backend-config="path=$tf/terraform.tfstate" \
  -backend-config="workspace_dir=$tf/workspaces" > "$tf.log"
for ws in staging production; do
  terraform -chdir="$INFRA" workspace new -no-color "$ws" >> "$tf.log"
  terraform -chdir="$INFRA" apply -input=false -no-color -auto-approve -var "state_dir=$STATE" >> "$tf.log"
done
mark provision

# -- deploy one host: unpack into a release directory, switch the symlink, restart, poll /version
db="$STATE/db/sample_app.db"
mkdir -p "$STATE/db"
deploy_host() {
  local host=$1 port=$2 root="$STATE/hosts/$1" id rel pid
  id="$version-$(date +%Y%m%d%H%M%S)"
  rel="$root/releases/$id"
  mkdir -p "$rel" "$root/shared/logs" "$root/shared/run" "$root/cache"
  cp "$dest/$name-$version.tar.gz" "$root/cache/"
  (cd "$root/cache" && grep " $name-$version.tar.gz\$" "$pkg/SHA256SUMS" | sha256sum --quiet -c -)
  tar -xzf "$root/cache/$name-$version.tar.gz" -C "$rel"
  ln -sfn "$root/shared/logs" "$rel/logs"
  ln -sfn "$root/shared/run" "$rel/run"
  if [ -f "$root/shared/run/app.pid" ]; then
    pid=$(cat "$root/shared/run/app.pid")
    kill "$pid" 2> /dev/null || true
    while kill -0 "$pid" 2> /dev/null; do sleep 0.02; done
  fi
  ln -sfn "$rel" "$root/current.new"
  mv --no-target-directory "$root/current.new" "$root/current"
  (cd "$root/current" && PYTHONPATH=src exec setsid python3 -m sample_app --port "$port" \
    --pid-file "$root/shared/run/app.pid" --log-dir "$root/shared/logs" --database "$db") \
    < /dev/null >> "$root/shared/logs/service.log" 2>&1 &
  for _try in $(seq 40); do
    if [[ "$(curl -fsS --max-time 2 "http://127.0.0.1:$port/version" 2> /dev/null)" == *"\"version\": \"$base_version\""* ]]; then
      printf '{"current": "%s", "previous": null}\n' "$id" > "$root/releases.json"
      return 0
    fi
    sleep 0.25
  done
  echo "$host did not answer on /version" >&2
  return 1
}
deploy_host app1 "$P_APP1"
mark "deploy staging"

# -- database migrations: each versioned file once, in a transaction with its history row
sqlite3 "$db" "CREATE TABLE IF NOT EXISTS schema_history (version TEXT PRIMARY KEY, script TEXT NOT NULL,
  checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
for file in $(ls "$APP"/migrations/V*__*.sql | sort -V); do
  script=$(basename "$file")
  v=${script%%__*}
  v=${v#V}
  if [ -z "$(sqlite3 "$db" "SELECT 1 FROM schema_history WHERE version = '$v'")" ]; then
    sum=$(sha256sum < "$file" | cut -c1-64)
    { echo "BEGIN;"; cat "$file"; echo "INSERT INTO schema_history VALUES ('$v', '$script', '$sum', datetime('now'));";
      echo "COMMIT;"; } | sqlite3 -bail "$db"
  fi
done
mark "db migrate"

# -- production: the canary, its three re-checks one second apart, the metric gate (Prometheus is not up
#    yet on a first run: skipped), then the rest
deploy_host app2 "$P_APP2"
for check in 1 2 3; do
  if [ "$check" -gt 1 ]; then sleep 1; fi
  [[ "$(curl -fsS --max-time 5 "http://127.0.0.1:$P_APP2/version")" == *"\"version\": \"$base_version\""* ]]
done
curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$P_PROM/-/ready" 2> /dev/null || echo "metric gate skipped"
deploy_host app3 "$P_APP3"
mark "deploy production"

# -- logging: a logrotate configuration per host, validated with -d, then a rotation with a private state file
for host in app1 app2 app3; do
  lb="$STATE/logging/$host"
  mkdir -p "$lb"
  cat > "$lb/logrotate.conf" << EOF
$STATE/hosts/$host/shared/logs/*.log {
    daily
    rotate 14
    maxage 30
    missingok
    notifempty
    compress
    delaycompress
    dateext
    dateformat -%Y%m%d-%s
}
EOF
  logrotate -d -s "$lb/logrotate.state" "$lb/logrotate.conf" 2> /dev/null
  logrotate -v -s "$lb/logrotate.state" "$lb/logrotate.conf" 2> "$lb/logrotate.log"
done
mark logging

# -- monitoring: the role's rendered rules checked and unit-tested, a config checked, three servers started, a push
mon="$STATE/monitoring"
mkdir -p "$mon/config/rules" "$mon/data" "$mon/run"
cp "$RULES/conveyor_app.rules.yml" "$RULES/conveyor_app.rules_test.yml" "$mon/config/rules/"
promtool check rules "$mon/config/rules/conveyor_app.rules.yml" > /dev/null
(cd "$mon/config/rules" && promtool test rules conveyor_app.rules_test.yml > /dev/null)
cat > "$mon/config/prometheus.yml" << EOF
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - "$mon/config/rules/conveyor_app.rules.yml"
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$P_PROM"]
  - job_name: sample_app
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$P_APP1"]
        labels: {host: app1}
      - targets: ["127.0.0.1:$P_APP2"]
        labels: {host: app2}
      - targets: ["127.0.0.1:$P_APP3"]
        labels: {host: app3}
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:$P_NODE"]
        labels: {host: app1}
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$P_PUSH"]
EOF
promtool check config "$mon/config/prometheus.yml" > /dev/null
start_server() {
  local name=$1 port=$2
  shift 2
  (cd "$mon" && exec setsid "$@") < /dev/null > "$mon/run/$name.log" 2>&1 &
  echo "$!" > "$mon/run/$name.pid"
  for _try in $(seq 300); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then return 0; fi
    sleep 0.05
  done
  echo "$name did not listen on $port" >&2
  return 1
}
start_server prometheus "$P_PROM" prometheus "--config.file=$mon/config/prometheus.yml" \
  "--storage.tsdb.path=$mon/data" --storage.tsdb.retention.time=15d "--web.listen-address=127.0.0.1:$P_PROM" \
  --web.enable-lifecycle
start_server pushgateway "$P_PUSH" prometheus-pushgateway "--web.listen-address=127.0.0.1:$P_PUSH"
start_server node_exporter "$P_NODE" prometheus-node-exporter "--web.listen-address=127.0.0.1:$P_NODE"
printf '# TYPE conveyor_pipeline_stage_success gauge\nconveyor_pipeline_stage_success{stage="monitoring"} 1\n' \
  | curl -fsS --max-time 10 -X PUT --data-binary @- "http://127.0.0.1:$P_PUSH/metrics/job/conveyor_pipeline"
mark monitoring
"""


def env() -> dict:
    out = dict(os.environ)
    out["PATH"] = f"{VENV_BIN}{os.pathsep}{out.get('PATH', '')}"
    out["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    for key in list(out):
        if key == "CI" or key.startswith("CONVEYOR_EVENTS_"):
            out.pop(key)
    return out


def free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1 (held open together while picking, so none repeats)."""
    sockets = []
    try:
        for _unused in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(port: int) -> bool:
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def fresh_app(base: Path, name: str) -> Path:
    dest = base / name
    shutil.copytree(APP, dest, ignore=IGNORE)
    return dest


def make_ports() -> dict:
    ports = free_ports(6)
    return dict(zip((*APP_HOSTS, "prometheus", "pushgateway", "node_exporter"), ports, strict=True))


def make_inventory(directory: Path, app: Path, state: Path, ports: dict) -> Path:
    """A copy of inventories/local pointing at ``app`` and ``state``, with its own ports."""
    inventory = directory / "inventory"
    shutil.copytree(INVENTORY, inventory)
    hosts_file = inventory / "hosts.yml"
    hosts = yaml.safe_load(hosts_file.read_text())
    for group in hosts["all"]["children"]["app"]["children"].values():
        for host, hostvars in group["hosts"].items():
            hostvars["deploy_port"] = ports[host]
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    # keep the sample app's description (package contents, version files, ...); move only the paths
    all_file = inventory / "group_vars" / "all.yml"
    all_vars = yaml.safe_load(all_file.read_text())
    all_vars.update(conveyor_project_root=str(ROOT), conveyor_app_dir=str(app), conveyor_state_dir=str(state))
    all_vars["monitoring_prometheus_port"] = ports["prometheus"]
    all_file.write_text(yaml.safe_dump(all_vars, sort_keys=False))
    monitoring_file = inventory / "group_vars" / "controller" / "monitoring.yml"
    monitoring = yaml.safe_load(monitoring_file.read_text())
    monitoring["monitoring_prometheus_port"] = ports["prometheus"]
    monitoring["monitoring_pushgateway_port"] = ports["pushgateway"]
    monitoring["monitoring_node_exporter_port"] = ports["node_exporter"]
    monitoring_file.write_text(yaml.safe_dump(monitoring, sort_keys=False))
    # the canary's metric gate asks the embedded Prometheus: this run's, not one on the default port
    deploy_file = inventory / "group_vars" / "app" / "deploy.yml"
    deploy = yaml.safe_load(deploy_file.read_text())
    deploy["deploy_canary_metrics_url"] = f"http://127.0.0.1:{ports['prometheus']}"
    deploy_file.write_text(yaml.safe_dump(deploy, sort_keys=False))
    return inventory


def run_timed(argv, extra_env=None, **kwargs) -> tuple[float, str]:
    full_env = env()
    full_env.update(extra_env or {})
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=full_env, check=False, **kwargs)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark command failed ({proc.returncode}): {' '.join(map(str, argv))[:300]}\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
        )
    return elapsed, proc.stdout


# extra variables for every pipeline run (--module-processes: conveyor_in_process=false)
EXTRA_VARS: dict = {}


def playbook(inventory: Path) -> tuple[float, str]:
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "pipeline.yml")]
    if EXTRA_VARS:
        argv += ["-e", json.dumps(EXTRA_VARS)]
    return run_timed(argv)


def shell(app: Path, state: Path, rules: Path, ports: dict) -> float:
    state.mkdir(parents=True)
    variables = {
        "APP": str(app),
        "STATE": str(state),
        "INFRA": str(INFRA),
        "RULES": str(rules),
        "P_APP1": str(ports["app1"]),
        "P_APP2": str(ports["app2"]),
        "P_APP3": str(ports["app3"]),
        "P_PROM": str(ports["prometheus"]),
        "P_PUSH": str(ports["pushgateway"]),
        "P_NODE": str(ports["node_exporter"]),
    }
    return run_timed(["bash", "-c", SHELL_SCRIPT, "b7-shell"], extra_env=variables)[0]


# -- stopping what a run started ------------------------------------------------------------------


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[-1].startswith("Z")
    except OSError:
        return False


def _ours(pid: int, state: Path, ports: dict) -> bool:
    cmd = _cmdline(pid)
    return str(state) in cmd or any(f"127.0.0.1:{port}" in cmd for port in ports.values())


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop_everything(state: Path, ports: dict) -> dict:
    """Stop every process whose pid file is under ``state`` , then any process still naming ``state`` or this run's ports; check the ports."""
    stopped = []
    for pid_file in sorted(state.rglob("*.pid")):
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if not _alive(pid) or not _ours(pid, state, ports):
            continue
        if _alive(pid):
            _terminate(pid)
        stopped.append(pid_file.name)
    leftovers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and str(state) in _cmdline(int(entry.name)):
            leftovers.append(_cmdline(int(entry.name))[:120])
            _terminate(int(entry.name))
    deadline = time.monotonic() + 10
    busy = [port for port in ports.values() if port_open(port)]
    while busy and time.monotonic() < deadline:
        time.sleep(0.1)
        busy = [port for port in ports.values() if port_open(port)]
    return {"stopped": stopped, "leftovers": leftovers, "ports_still_open": busy}


# -- where the time goes --------------------------------------------------------------------------


def playbook_stages(state: Path) -> list[dict]:
    """Per run (oldest first): total duration, changed count and seconds per stage, from the event store."""
    with contextlib.closing(sqlite3.connect(state / "events.db")) as conn:
        runs = conn.execute("SELECT id, duration, changed, ok, skipped FROM runs ORDER BY started").fetchall()
        out = []
        for run_id, duration, changed, ok, skipped in runs:
            stages = dict.fromkeys(STAGES, 0.0)
            deploys = 0
            for name, seconds in conn.execute(
                "SELECT name, duration FROM stages WHERE run_id = ? ORDER BY seq", (run_id,)
            ):
                if name == "Deploy - plan":
                    deploys += 1
                key = PLAY_STAGES.get(name) or ("deploy staging" if deploys <= 1 else "deploy production")
                stages[key] += seconds or 0.0
            out.append({"duration": duration, "changed": changed, "task_results": ok + skipped, "stages": stages})
    return out


def shell_stages(state: Path) -> dict:
    marks = [line.split(" ", 1) for line in (state / "stage-marks").read_text().splitlines()]
    stages = dict.fromkeys(STAGES, 0.0)
    for (before, _first), (after, name) in itertools.pairwise(marks):
        stages[name] = float(after) - float(before)
    return stages


def ansible_costs(base: Path, repeats: int = 3) -> dict:
    """ansible-playbook's fixed cost (an empty play) and its cost per task: N tasks of ansible.builtin.ping
    (a module shipped to and run on the host) and of ansible.builtin.debug (an action on the controller)."""
    probe = base / "probe"
    probe.mkdir()
    count = 40
    plays = {
        "empty": [{"name": "Empty", "hosts": "localhost", "gather_facts": False, "tasks": []}],
        "ping": [
            {
                "name": "Ping",
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [{"name": f"Ping {n}", "ansible.builtin.ping": {}} for n in range(count)],
            }
        ],
        "debug": [
            {
                "name": "Debug",
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [{"name": f"Debug {n}", "ansible.builtin.debug": {"msg": "x"}} for n in range(count)],
            }
        ],
    }
    inventory = probe / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                        }
                    }
                }
            }
        )
    )
    times = {}
    for name, play in plays.items():
        path = probe / f"{name}.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        samples = [
            run_timed(
                [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(path)],
                extra_env={"CONVEYOR_EVENTS_DB": str(probe / "events.db")},
            )[0]
            for _round in range(repeats)
        ]
        times[name] = statistics.median(samples)
    return {
        "empty_play_s": times["empty"],
        "ping_task_ms": (times["ping"] - times["empty"]) / count * 1000,
        "debug_task_ms": (times["debug"] - times["empty"]) / count * 1000,
        "tasks_per_probe": count,
    }


# -- main -------------------------------------------------------------------------------------------


def one_round(base: Path, tag: str, rules: Path, rows: dict, breakdown: dict, cleanup: list) -> None:
    ports = make_ports()
    state = base / f"shell-state-{tag}"
    try:
        rows["shell"].append(shell(fresh_app(base, f"shell-app-{tag}"), state, rules, ports))
        breakdown["shell"].append(shell_stages(state))
    finally:
        cleanup.append(stop_everything(state, ports))
    ports = make_ports()
    work = base / f"play-{tag}"
    work.mkdir()
    state = work / "state"
    inventory = make_inventory(work, fresh_app(work, "sample_app"), state, ports)
    try:
        rows["playbook_first"].append(playbook(inventory)[0])
        rows["playbook_rerun"].append(playbook(inventory)[0])
        first, rerun = playbook_stages(state)[-2:]
        breakdown["playbook_first"].append(first)
        breakdown["playbook_rerun"].append(rerun)
    finally:
        cleanup.append(stop_everything(state, ports))


def median_stages(samples: list[dict]) -> dict:
    return {stage: statistics.median(s[stage] for s in samples) for stage in STAGES}


def warm_up(base: Path) -> Path:
    """One playbook run (bytecode, OS caches, Terraform); keeps the role's rendered rule files for the shell."""
    ports = make_ports()
    work = base / "warm"
    work.mkdir()
    state = work / "state"
    inventory = make_inventory(work, fresh_app(work, "sample_app"), state, ports)
    try:
        playbook(inventory)
    finally:
        report = stop_everything(state, ports)
    if report["ports_still_open"]:
        sys.exit(f"ports still open after the warm-up run: {report}")
    rules = base / "rendered-rules"
    rules.mkdir()
    for name in ("conveyor_app.rules.yml", "conveyor_app.rules_test.yml"):
        shutil.copy(state / "monitoring" / "config" / "rules" / name, rules / name)
    return rules


def print_tables(result: dict) -> None:
    med, rows = result["median_seconds"], result["seconds"]
    print("| contender | median s | runs (s) |\n|---|---:|---|")
    for key, label in (
        ("shell", "plain shell script (the limit)"),
        ("playbook_first", "pipeline.yml, first run"),
        ("playbook_rerun", "pipeline.yml, no-change rerun"),
    ):
        print(f"| {label} | {med[key]:.2f} | {', '.join(f'{v:.2f}' for v in rows[key])} |")
    print(f"\nB7 pipeline/shell = {result['b7_ratio_pipeline_vs_shell']:.2f}x (target <= 1.5x)")
    print(
        f"(without the feedback stage, which the shell has no counterpart for: "
        f"{result['b7_ratio_pipeline_without_feedback_vs_shell']:.2f}x)"
    )
    print(f"B7 rerun/first = {result['b7_ratio_rerun_vs_first']:.2f}x (target <= 0.15x)")
    stages = result["median_stage_seconds"]
    print("\n| stage (median s) | shell | pipeline first | pipeline rerun |\n|---|---:|---:|---:|")
    for stage in STAGES:
        shell_value = "-" if stage == "feedback" else f"{stages['shell'][stage]:.2f}"
        print(
            f"| {stage} | {shell_value} | {stages['playbook_first'][stage]:.2f} | "
            f"{stages['playbook_rerun'][stage]:.2f} |"
        )
    for key in ("shell", "playbook_first", "playbook_rerun"):
        stages[key]["total of stages"] = sum(stages[key][s] for s in STAGES)
    print(
        f"| total of stages | {stages['shell']['total of stages']:.2f} | "
        f"{stages['playbook_first']['total of stages']:.2f} | {stages['playbook_rerun']['total of stages']:.2f} |"
    )
    print(
        f"| ansible-playbook start and end (outside every play) | - | "
        f"{med['playbook_first'] - stages['playbook_first']['total of stages']:.2f} | "
        f"{med['playbook_rerun'] - stages['playbook_rerun']['total of stages']:.2f} |"
    )
    costs = result["ansible_costs"]
    print(
        f"\nAnsible's own cost here: empty play {costs['empty_play_s']:.2f} s; per task "
        f"{costs['ping_task_ms']:.0f} ms (ansible.builtin.ping, a module run on the host), "
        f"{costs['debug_task_ms']:.0f} ms (ansible.builtin.debug, controller only). "
        f"Task results per run: first {result['task_results']['first']}, rerun {result['task_results']['rerun']}; "
        f"changed on the rerun: {result['rerun_changed']}."
    )


def main() -> None:
    try:
        run_benchmark()
    except RuntimeError as exc:
        sys.exit(str(exc))


def run_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--strategy",
        default="",
        help="run the pipeline with this strategy (ANSIBLE_STRATEGY), e.g. conveyor.cicd.mitogen_linear; "
        "results go to results/b7_pipeline-<strategy>.json",
    )
    parser.add_argument(
        "--module-processes",
        action="store_true",
        help="run every conveyor.cicd module as a module process (conveyor_in_process=false), to measure what "
        "running the engine in the controller saves; results go to results/b7_pipeline-module-processes.json",
    )
    args = parser.parse_args()
    results = results_path(RESULTS)
    if args.module_processes:
        EXTRA_VARS["conveyor_in_process"] = False
        results = results.with_name(f"{results.stem}-module-processes.json")
    if args.strategy:
        os.environ["ANSIBLE_STRATEGY"] = args.strategy
        results = results.with_name(f"{results.stem}-{args.strategy.rsplit('.', 1)[-1]}.json")
    rows = {"shell": [], "playbook_first": [], "playbook_rerun": []}
    breakdown = {"shell": [], "playbook_first": [], "playbook_rerun": []}
    cleanup = []
    with tempfile.TemporaryDirectory(prefix="conveyor-b7-") as tmp:
        base = Path(tmp)
        rules = warm_up(base)
        for n in range(args.rounds):
            one_round(base, str(n), rules, rows, breakdown, cleanup)
        costs = ansible_costs(base)
    med = {k: statistics.median(v) for k, v in rows.items()}
    result = {
        "benchmark": "B7 full pipeline",
        "strategy": args.strategy or "linear (ansible.cfg default)",
        "ansible_core": ANSIBLE_CORE,
        "extra_vars": EXTRA_VARS,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "seconds": rows,
        "median_seconds": med,
        "b7_ratio_pipeline_vs_shell": round(med["playbook_first"] / med["shell"], 3),
        "b7_pipeline_target": 1.5,
        "b7_ratio_rerun_vs_first": round(med["playbook_rerun"] / med["playbook_first"], 3),
        "b7_rerun_target": 0.15,
        # the feedback stage (DORA metrics, HTML report) has no counterpart in the shell script
        "b7_ratio_pipeline_without_feedback_vs_shell": None,
        "median_stage_seconds": {
            "shell": median_stages(breakdown["shell"]),
            "playbook_first": median_stages([r["stages"] for r in breakdown["playbook_first"]]),
            "playbook_rerun": median_stages([r["stages"] for r in breakdown["playbook_rerun"]]),
        },
        "task_results": {
            "first": statistics.median(r["task_results"] for r in breakdown["playbook_first"]),
            "rerun": statistics.median(r["task_results"] for r in breakdown["playbook_rerun"]),
        },
        "rerun_changed": [r["changed"] for r in breakdown["playbook_rerun"]],
        "ansible_costs": costs,
        "cleanup": {
            "ports_still_open": sorted({p for c in cleanup for p in c["ports_still_open"]}),
            "leftover_processes": [line for c in cleanup for line in c["leftovers"]],
        },
    }
    stage_med = result["median_stage_seconds"]["playbook_first"]
    result["b7_ratio_pipeline_without_feedback_vs_shell"] = round(
        (med["playbook_first"] - stage_med["feedback"]) / med["shell"], 3
    )
    print_tables(result)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")
    if result["cleanup"]["ports_still_open"] or result["cleanup"]["leftover_processes"]:
        print(f"\nnot everything stopped cleanly: {result['cleanup']}")


if __name__ == "__main__":
    main()
