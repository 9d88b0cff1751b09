# shellcheck shell=bash
# The supported ansible-core versions (meta/runtime.yml's requires_ansible), sourced by
# bootstrap.sh and test.sh. The default virtualenv (.venv) runs the oldest one; each other
# version runs from its own virtualenv .cache/venvs/ansible-<version> on the Python it needs.
# shellcheck disable=SC2034  # read by the scripts that source this file
default_ansible=2.19
# <ansible-core minor>:<Python minor>
matrix=(2.20:3.12 2.21:3.13)
