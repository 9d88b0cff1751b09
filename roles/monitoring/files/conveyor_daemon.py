# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a server as a plain background process with a pid file (the role's `command` service manager).

    python conveyor_daemon.py start|stop|restart|reload|status --pid-file F [--log-file L]
        [--wait-port HOST:PORT] [--timeout S] [--check] -- ARGV...

Prints one JSON object: {"changed": bool, "running": bool, "pid": int|null, "msg": str}.
`start` is idempotent: a live process with the same argv is left alone, one with a different argv is
restarted. `--check` reports what would change without doing it. Exit code 1 with a one-line msg when
the process cannot be started or dies right away.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time


def read_pid(pid_file):
    try:
        with open(pid_file, encoding="utf-8") as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return None


def write_pid(pid_file, pid):
    os.makedirs(os.path.dirname(os.path.abspath(pid_file)), exist_ok=True)
    tmp = f"{pid_file}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(f"{pid}\n")
    os.replace(tmp, pid_file)


def log_tail(log_file, lines=5):
    try:
        with open(log_file, encoding="utf-8", errors="replace") as handle:
            return " | ".join(line.strip() for line in handle.readlines()[-lines:])
    except OSError:
        return ""


def port_open(address):
    host, _sep, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def stop(pid_file, timeout):
    pid = read_pid(pid_file)
    if pid is None:
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and read_pid(pid_file) is not None:
        time.sleep(0.1)
    if read_pid(pid_file) is not None:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    if os.path.exists(pid_file):
        os.unlink(pid_file)
    return True


def start(args):
    log_file = args.log_file or f"{args.pid_file}.log"
    os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(  # argv list from the role, no shell
            args.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the Ansible task that started it
            close_fds=True,
            cwd=args.cwd or None,
        )
    write_pid(args.pid_file, proc.pid)
    started = time.monotonic()
    # without a port to wait for, a server that survives a short grace period counts as started
    grace = min(1.0, args.timeout)
    while time.monotonic() < started + args.timeout:
        if proc.poll() is not None:
            os.unlink(args.pid_file)
            raise RuntimeError(
                f"{args.argv[0]} exited with code {proc.returncode} right after start: {log_tail(log_file)}"
            )
        if args.wait_port and port_open(args.wait_port):
            return proc.pid
        if not args.wait_port and time.monotonic() >= started + grace:
            return proc.pid
        time.sleep(0.1)
    if args.wait_port:
        stop(args.pid_file, 5)
        raise RuntimeError(
            f"{args.argv[0]} did not listen on {args.wait_port} within {args.timeout}s: {log_tail(log_file)}"
        )
    return proc.pid


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "restart", "reload", "status"])
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--log-file")
    parser.add_argument("--cwd")
    parser.add_argument("--wait-port")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--check", action="store_true")
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.argv = command

    pid = read_pid(args.pid_file)
    same = pid is not None and (not args.argv or cmdline(pid) in (None, args.argv))
    result = {"changed": False, "running": pid is not None, "pid": pid}
    try:
        if args.action in ("start", "restart"):
            if not args.argv:
                raise RuntimeError(f"{args.action} needs the command line after --")
            if args.action == "start" and same:
                result["msg"] = f"already running with pid {pid}"
            else:
                result["changed"] = True
                if not args.check:
                    stop(args.pid_file, args.timeout)
                    result["pid"] = start(args)
                    result["running"] = True
                result["msg"] = ("restarted" if pid else "started") + f" {os.path.basename(args.argv[0])}"
        elif args.action == "stop":
            result["changed"] = pid is not None
            if pid is not None and not args.check:
                stop(args.pid_file, args.timeout)
                result.update(running=False, pid=None)
            result["msg"] = "stopped" if pid else "not running"
        elif args.action == "reload":
            result["changed"] = pid is not None
            if pid is not None and not args.check:
                os.kill(pid, signal.SIGHUP)
            result["msg"] = "sent SIGHUP" if pid else "not running, nothing to reload"
        else:
            result["msg"] = f"running with pid {pid}" if pid else "not running"
    except (OSError, RuntimeError) as exc:
        result.update(msg=str(exc), error=True)
        print(json.dumps(result))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
