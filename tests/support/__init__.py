"""Helpers shared by the test layers: running playbooks, starting real servers."""
