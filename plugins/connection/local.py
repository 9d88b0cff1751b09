# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: local
short_description: Run on the controller, with Python modules in a fork of the worker instead of a new interpreter
description:
  - A drop-in replacement for C(ansible.builtin.local). Commands, file transfers and C(become) work exactly as there.
  - When a Python module is pipelined and would run with the Python that runs Ansible (as for the implicit
    C(localhost), or with C(ansible_python_interpreter) set to C({{ ansible_playbook_python }})), it runs in a forked
    copy of the task's worker process, which already has Python and ansible-core loaded, instead of in a new
    interpreter. It gets the same payload, arguments and environment, and its output is parsed the same way,
    so results do not change; each module task costs a few milliseconds instead of 0.2-0.3 s.
  - Everything else runs as with C(ansible.builtin.local) - C(become), another interpreter, non-Python modules,
    modules run without pipelining, and a module whose source differs from the one the controller would import
    (for example a playbook's C(library/) module that shadows a built-in one).
  - Pipelining is on by default for this connection; set C(ansible_pipelining=false) for a C(sudo) that
    requires a terminal (requiretty).
author: conveyor.cicd maintainers (@conveyor-cicd)
options:
  pipelining:
    description:
      - Pipe modules to the interpreter instead of copying them to a temporary file first. Only pipelined
        modules can run in a fork of the worker.
    type: boolean
    default: true
    env:
      - name: ANSIBLE_PIPELINING
    ini:
      - section: defaults
        key: pipelining
      - section: connection
        key: pipelining
    vars:
      - name: ansible_pipelining
  fork_modules:
    description:
      - Run qualifying Python modules in a fork of the worker, and Ansible's housekeeping commands around them
        (finding the home directory, creating and removing the temporary directory) in the worker itself instead
        of in a new shell. Set to false to behave exactly like C(ansible.builtin.local).
    type: boolean
    default: true
    env:
      - name: CONVEYOR_FORK_MODULES
    vars:
      - name: conveyor_fork_modules
  ansiballz_cache:
    description:
      - Keep the built payloads of ansible-core's own modules (C(ansible.modules.*)) from one run to the next, in
        C(conveyor-ansiballz/) beside the runs' local temporary directories (C(local_tmp)), so a run does not
        build them again (0.1-0.15 s per module used).
      - A stored payload is used only while the ansible-core installation, the Python version and every source
        file in the payload are unchanged, and only when the store and the payload are owned by the user running
        Ansible and writable by no one else. Collection and C(library/) modules are built every run, as usual.
    type: boolean
    default: true
    env:
      - name: CONVEYOR_ANSIBALLZ_CACHE
    vars:
      - name: conveyor_ansiballz_cache
  become_success_timeout:
    description:
      - Number of seconds to wait for become to succeed when enabled (as for C(ansible.builtin.local)).
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description:
      - Strip internal become output preceding command execution (as for C(ansible.builtin.local)).
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
notes:
  - The remote user is ignored, the user with which the ansible CLI was executed is used instead.
"""

EXAMPLES = r"""
# inventory: the controller itself, modules run in a fork of the worker
all:
  hosts:
    localhost:
      ansible_connection: conveyor.cicd.local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""

from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.utils.display import Display

from ansible_collections.conveyor.cicd.plugins.plugin_utils import _ansiballz_cache, _forked_module, _shell_builtins

display = Display()


class Connection(LocalConnection):
    """ansible.builtin.local, with pipelined Python modules run in a fork of the worker."""

    transport = "conveyor.cicd.local"

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        # the task's options are known now, and its module is not built yet
        if self.get_option("ansiballz_cache"):
            copied = _ansiballz_cache.restore()
            if copied:
                display.vvvv(f"conveyor.cicd.local: {copied} stored module payloads copied into this run's cache")

    def exec_command(self, cmd, in_data=None, sudoable=True):
        if self.become is None and self.get_option("fork_modules"):
            if not in_data:
                done = _shell_builtins.run(cmd)
                if done is not None:
                    self._connect()
                    display.vvv(f"EXEC (in the worker) {cmd}", host=self._play_context.remote_addr)
                    return done
            else:
                job, why_not = _forked_module.plan(cmd, in_data)
                if job is None:
                    display.vvvv(f"conveyor.cicd.local: a new process for this module ({why_not})")
                else:
                    if self.get_option("ansiballz_cache"):
                        _ansiballz_cache.keep(job.module_fqn)
                    self._connect()
                    display.vvv(
                        f"EXEC (in a fork of the worker: {job.module_fqn}) {cmd}", host=self._play_context.remote_addr
                    )
                    return _forked_module.run(job, cwd=getattr(self, "cwd", None))
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
