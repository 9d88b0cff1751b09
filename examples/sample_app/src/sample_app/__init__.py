"""conveyor-sample-app: a small HTTP service used to demonstrate a full delivery pipeline."""

__version__ = "0.1.0"
NAME = "conveyor-sample-app"
