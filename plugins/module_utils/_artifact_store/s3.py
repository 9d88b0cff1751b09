# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A repository in an S3 bucket (AWS or any S3-compatible server): ``s3://bucket/prefix``.

Uploads go through boto3's managed transfer: large files become a multipart upload that is completed
only at the end, so an interrupted upload leaves nothing at the key. Parts are read in order from a
hashing reader (sha256 while streaming) and only two parts are read ahead; files from a path are read
by boto3 itself (in parallel, lazily) while a second thread hashes them. Large downloads are parallel
ranged GETs streamed to their place in the temporary file and hashed in order as parts complete; memory
stays constant either way. The sha256
is stored as object metadata (``x-amz-meta-sha256``) when known up front, and always in a sidecar.
Retries (connection errors, 5xx, throttling) use botocore's standard mode: bounded, exponential
backoff with jitter; other 4xx answers fail at once with the server's message.

Conditional writes: ``create_bytes`` and locks use ``PutObject`` with ``If-None-Match: *`` (the
server refuses with 412 when the key exists; AWS S3, SeaweedFS and MinIO honour it), and a lock whose
holder is gone is taken over with ``If-Match: <its ETag>``, so two takers never both get it. Unfinished
multipart uploads (a killed upload) older than ``stale_age`` are aborted by ``clean_stale``.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store._base import (
    CHUNK,
    LOCK_SUFFIX,
    ArtifactStore,
    ObjectInfo,
    RetryableError,
    StoreError,
    retry_call,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, MissingDependencyError

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    BOTO3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the host
    BOTO3_IMPORT_ERROR = exc

PART_SIZE = 8 * 1024 * 1024
CONCURRENCY = 10


def transfer_config() -> TransferConfig:
    """8 MiB parts, 4 in flight, at most 2 read ahead: bounded memory for streamed, hashed uploads."""
    config = TransferConfig(
        multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=4, io_chunksize=CHUNK
    )
    config.max_in_memory_upload_chunks = 2
    return config


class S3Store(ArtifactStore):
    scheme = "s3"

    def __init__(self, url: str, **options):
        super().__init__(url, **options)
        if BOTO3_IMPORT_ERROR is not None:
            raise MissingDependencyError(
                "the s3:// repository needs boto3 on the host that runs the module: pip install boto3"
            )
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ConfigurationError(f"invalid S3 repository URL {url!r}: use s3://bucket/prefix")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.endpoint_url = options.get("endpoint_url") or None
        self._identity = (self.endpoint_url, options.get("access_key") or None)
        session = boto3.session.Session(
            aws_access_key_id=options.get("access_key") or None,
            aws_secret_access_key=options.get("secret_key") or None,
            aws_session_token=options.get("session_token") or None,
            region_name=options.get("region") or None,
        )
        config = Config(
            retries={"max_attempts": self.retries + 1, "mode": "standard"},
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            max_pool_connections=16,
            s3={"addressing_style": "path"} if self.endpoint_url else None,
        )
        self.client = session.client(
            "s3", endpoint_url=self.endpoint_url, config=config, verify=options.get("validate_certs", True)
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, exc, action: str, key: str = ""):
        where = self.url_for(key) if key else self.url
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            text = error.get("Message") or error.get("Code") or str(status)
            raise StoreError(
                f"S3 {action} {where} failed: HTTP {status} {error.get('Code', '')}: {text}", status=status
            ) from None
        raise StoreError(f"S3 {action} {where} failed: {exc}") from None

    def _upload(self, key, reader, sha256):
        extra = {"Metadata": {"sha256": sha256}} if sha256 else {}
        path = getattr(reader.handle, "name", None)
        try:
            if isinstance(path, str) and reader.size > PART_SIZE:
                # boto3 reads the parts from the path itself, in parallel and lazily (bounded memory);
                # a second thread hashes the file meanwhile (hashlib releases the GIL)
                hasher = threading.Thread(target=reader.drain, daemon=True)
                hasher.start()
                try:
                    self.client.upload_file(path, self.bucket, self._key(key), ExtraArgs=extra)
                finally:
                    hasher.join()
            else:
                reader.restart()
                self.client.upload_fileobj(
                    reader, self.bucket, self._key(key), ExtraArgs=extra, Config=transfer_config()
                )
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "upload to", key)

    def _download(self, key, writer):
        info = self._head(key)
        if info is None:
            raise StoreError(f"{self.url_for(key)} does not exist")
        if info.size <= 2 * PART_SIZE:
            self._download_stream(key, writer)
        else:
            self._download_parts(key, writer, info.size)

    def _download_stream(self, key, writer):
        """One streamed GET, hashed in order; a broken stream starts over (bounded)."""

        def attempt():
            writer.restart()
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
                for block in body.iter_chunks(CHUNK):
                    writer.write(block)
            except ClientError as exc:
                self._fail(exc, "download of", key)
            except BotoCoreError as exc:
                raise RetryableError(f"download of {self.url_for(key)} broke off: {exc}") from None

        retry_call(attempt, self.retries, f"S3 download of {self.url_for(key)}")

    def _download_parts(self, key, writer, size):
        """Ranged GETs in parallel, each streamed to its place in the file (constant memory); the parts are
        hashed in order from the file as soon as each one is complete; a broken part is fetched again."""
        writer.restart()
        fd = writer.handle.fileno()
        ranges = [(start, min(size, start + PART_SIZE)) for start in range(0, size, PART_SIZE)]

        def fetch(start, end):
            def attempt():
                offset = start
                try:
                    answer = self.client.get_object(
                        Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end - 1}"
                    )
                    for block in answer["Body"].iter_chunks(CHUNK):
                        os.pwrite(fd, block, offset)
                        offset += len(block)
                except ClientError as exc:
                    self._fail(exc, "download of", key)
                except BotoCoreError as exc:
                    raise RetryableError(f"download of {self.url_for(key)} broke off: {exc}") from None
                if offset != end:
                    raise RetryableError(f"download of {self.url_for(key)} ended early at byte {offset}")

            retry_call(attempt, self.retries, f"S3 download of {self.url_for(key)}")

        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            futures = [pool.submit(fetch, start, end) for start, end in ranges]
            try:
                for (start, end), future in zip(ranges, futures, strict=True):
                    future.result()
                    writer.absorb(start, end - start)
            finally:
                for future in futures:
                    future.cancel()

    def _head(self, key):
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            self._fail(exc, "HEAD", key)
        except BotoCoreError as exc:
            self._fail(exc, "HEAD", key)
        metadata = answer.get("Metadata", {})
        return ObjectInfo(key, answer["ContentLength"], metadata.get("sha256"), metadata)

    def _list(self, prefix):
        full = self._key(prefix + "/" if prefix else "")
        if not prefix and self.prefix:
            full = self.prefix + "/"
        keys = []
        skip = len(self.prefix) + 1 if self.prefix else 0
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(item["Key"][skip:] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "listing of", prefix)
        return keys

    def _delete(self, key):
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "DELETE", key)

    def _put_bytes(self, key, data):
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "upload to", key)

    def _get_bytes(self, key):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            self._fail(exc, "download of", key)
        except BotoCoreError as exc:
            self._fail(exc, "download of", key)

    def _server_copy(self, source, src_key, dest_key):
        if not isinstance(source, S3Store) or source._identity != self._identity:
            return False
        try:
            # managed copy: CopyObject, or UploadPartCopy above the threshold (objects over 5 GiB)
            self.client.copy(
                {"Bucket": source.bucket, "Key": source._key(src_key)},
                self.bucket,
                self._key(dest_key),
                Config=transfer_config(),
            )
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "copy to", dest_key)
        return True

    def _status(self, exc) -> int | None:
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(exc, ClientError) else None

    def _create_bytes(self, key, data):
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if self._status(exc) in (409, 412):  # 409: a concurrent conditional write is in flight (AWS)
                return False
            self._fail(exc, "upload to", key)
        except BotoCoreError as exc:
            self._fail(exc, "upload to", key)
        return True

    def _try_lock(self, key, data):
        if self._create_bytes(key, data):
            return True, None, None
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return False, answer["Body"].read(64 * 1024), answer["ETag"]
        except ClientError as exc:
            if self._status(exc) == 404:  # released meanwhile
                return False, None, None
            self._fail(exc, "download of", key)
        except BotoCoreError as exc:
            self._fail(exc, "download of", key)

    def _break_lock(self, key, token):
        """Delete a dead holder's lock only if it is still the one that was read (If-Match on its ETag)."""
        if token is None:
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key), IfMatch=token)
        except ClientError as exc:
            if self._status(exc) not in (404, 412):
                self._fail(exc, "DELETE", key)
        except BotoCoreError as exc:
            self._fail(exc, "DELETE", key)

    def _unlock(self, key):
        self._delete(key)

    def _stale(self, prefix, cutoff):
        full = self._key(prefix + "/" if prefix else "")
        found = []
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=full)
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"].timestamp() < cutoff:
                        key = upload["Key"][len(self.prefix) + 1 :] if self.prefix else upload["Key"]
                        found.append((f"{key} (unfinished multipart upload)", self._aborter(upload)))
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
                for item in page.get("Contents", []):
                    base = item["Key"].rsplit("/", 1)[-1]
                    if (
                        base.startswith(".")
                        and base.endswith(LOCK_SUFFIX)
                        and item["LastModified"].timestamp() < cutoff
                    ):
                        key = item["Key"][len(self.prefix) + 1 :] if self.prefix else item["Key"]
                        found.append((key, lambda key=key, etag=item["ETag"]: self._break_lock(key, etag)))
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, "listing of", prefix)
        return found

    def _aborter(self, upload):
        def abort():
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            except ClientError as exc:
                if self._status(exc) != 404:
                    self._fail(exc, "abort of a multipart upload to", upload["Key"])
            except BotoCoreError as exc:
                self._fail(exc, "abort of a multipart upload to", upload["Key"])

        return abort
