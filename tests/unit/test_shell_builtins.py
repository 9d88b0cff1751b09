"""Ansible's housekeeping shell commands done in Python (plugin_utils/_shell_builtins.py).

Every recognised command is also run by a real shell, the way the local connection runs it, and the
two must agree: exit code, output and what is left on disk.
"""

from __future__ import annotations

import stat
import subprocess

import pytest

from ansible_collections.conveyor.cicd.plugins.plugin_utils._shell_builtins import run


def shell(cmd: str) -> tuple[int, bytes, bytes]:
    proc = subprocess.run(cmd, shell=True, capture_output=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def mktemp_cmd(base, name) -> str:
    path = f"{base}/{name}"
    return (
        f'/bin/sh -c \'( umask 77 && mkdir -p "` echo {base} `"&& mkdir "` echo {path} `" && '
        f'echo {name}="` echo {path} `" ) && sleep 0\''
    )


@pytest.mark.parametrize("user", ["", "root", "no-such-user-here"])
def test_home_directory(user):
    cmd = f"/bin/sh -c 'echo ~{user} && sleep 0'"
    assert run(cmd) == shell(cmd)


def test_temporary_directory_like_the_shell(tmp_path):
    results = {}
    for side in ("python", "shell"):
        base = tmp_path / side / "deep" / "tmp"
        cmd = mktemp_cmd(base, "ansible-tmp-1795695748.93-485-2489")
        rc, out, err = run(cmd) if side == "python" else shell(cmd)
        made = base / "ansible-tmp-1795695748.93-485-2489"
        results[side] = (
            rc,
            out.replace(str(tmp_path / side).encode(), b"<base>"),
            err,
            stat.S_IMODE(made.stat().st_mode),
            stat.S_IMODE(base.stat().st_mode),
            stat.S_IMODE((tmp_path / side / "deep").stat().st_mode),
        )
    assert results["python"] == results["shell"]
    assert results["python"][0] == 0 and results["python"][3] == 0o700


def test_temporary_directory_that_cannot_be_made(tmp_path):
    (tmp_path / "file").write_text("in the way\n")
    cmd = mktemp_cmd(tmp_path / "file", "ansible-tmp-1")
    rc, out, err = run(cmd)
    assert (rc, out) == shell(cmd)[:2] == (1, b"")
    assert b"cannot create directory" in err
    # the same name twice: mkdir (without -p) fails, as in the shell
    cmd = mktemp_cmd(tmp_path / "base", "ansible-tmp-2")
    assert run(cmd)[0] == 0
    assert run(cmd)[0] == shell(cmd)[0] == 1


def test_remove(tmp_path):
    tree = tmp_path / "ansible-tmp-3"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("x")
    (tree / "link").symlink_to(tmp_path / "keep")
    (tmp_path / "keep").write_text("kept\n")
    assert run(f"/bin/sh -c 'rm -f -r {tree}/ > /dev/null 2>&1 && sleep 0'") == (0, b"", b"")
    assert not tree.exists() and (tmp_path / "keep").read_text() == "kept\n"
    assert run(f"/bin/sh -c 'rm -f -r {tree}/ > /dev/null 2>&1 && sleep 0'") == (0, b"", b"")  # already gone
    single = tmp_path / "single"
    single.write_text("x")
    assert run(f"/bin/sh -c 'rm -f -r {single} > /dev/null 2>&1 && sleep 0'") == (0, b"", b"")
    assert not single.exists()


@pytest.mark.parametrize(
    "cmd",
    [
        "/bin/sh -c 'echo ~ && sleep 1'",
        "/bin/sh -c 'echo $HOME && sleep 0'",
        "/bin/sh -c 'rm -f -r /tmp/$X/ > /dev/null 2>&1 && sleep 0'",
        "/bin/sh -c 'rm -f -r /tmp/a b/ > /dev/null 2>&1 && sleep 0'",
        "/bin/sh -c 'rm -f -r /tmp/x/../y > /dev/null 2>&1 && sleep 0'",
        "/bin/sh -c 'rm -f -r tmp/relative > /dev/null 2>&1 && sleep 0'",
        mktemp_cmd("/tmp/$USER", "ansible-tmp-1"),
        mktemp_cmd("/tmp/a", "ansible-tmp-1").replace("ansible-tmp-1=", "other="),
        mktemp_cmd("/tmp/a", "ansible-tmp-1").replace(
            'echo /tmp/a/ansible-tmp-1 `" && echo', 'echo /tmp/b/x `" && echo'
        ),
        "/bin/bash -c 'echo ~ && sleep 0'",
        ["echo", "~"],
    ],
)
def test_anything_else_is_left_to_the_shell(cmd):
    assert run(cmd) is None
