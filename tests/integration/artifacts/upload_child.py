"""Run in a child process: upload a file through the store, pausing once mid-upload so a test can kill it.

argv: collections path, JSON connection options, key, file. Prints "PAUSED" at the pause:
- S3: every part is sent, just before CompleteMultipartUpload;
- otherwise: once 16 MiB of the request body have been read.
"""

from __future__ import annotations

import json
import sys
import time

sys.path.insert(0, sys.argv[1])

from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import _base, open_store


def pause():
    print("PAUSED", flush=True)
    time.sleep(120)  # the test kills us here


options = json.loads(sys.argv[2])
if options["repository"].startswith("s3://"):
    from botocore.client import BaseClient

    original_call = BaseClient._make_api_call

    def paused_call(self, operation, params):
        if operation == "CompleteMultipartUpload":
            pause()
        return original_call(self, operation, params)

    BaseClient._make_api_call = paused_call
else:
    original_read = _base.HashingReader.read

    def paused_read(self, amount=-1):
        data = original_read(self, amount)
        if self.count >= 16 * 1024 * 1024 and not getattr(self, "paused", False):
            self.paused = True
            pause()
        return data

    _base.HashingReader.read = paused_read

open_store(options.pop("repository"), **options).put(sys.argv[3], sys.argv[4])
