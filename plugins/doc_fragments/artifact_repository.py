# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by the artifact_* modules; their spec is REPOSITORY_CONNECTION in
    # module_utils/_argspec.py. The variants below repeat them as suboptions (ansible-test reads a fragment
    # as plain text, so they cannot be built from one string); tests/unit/modules checks that they agree.
    DOCUMENTATION = r"""
options:
  repository:
    description:
      - The artifact repository. The scheme chooses the backend.
      - V(file:///path) is a directory on the host that runs the module (the embedded default).
      - V(s3://bucket/prefix) is an S3 bucket (AWS, or any S3-compatible server with O(endpoint_url)).
      - V(http://host/path) or V(https://host/path) is a raw repository that accepts PUT, GET, HEAD and DELETE
        (Nexus raw, Artifactory generic, a WebDAV server such as nginx with C(dav_methods)).
      - User info in an HTTP URL (V(https://user:pass@host/...)) is accepted but O(username) and O(password) are
        preferred; it is never shown in results or messages.
    type: str
    required: true
  endpoint_url:
    description:
      - S3 only. The endpoint of an S3-compatible server, for example V(https://minio.example.com:9000).
      - Path-style addressing is used when this is set.
    type: str
  region:
    description: S3 only. The region of the bucket.
    type: str
  access_key:
    description:
      - S3 only. The access key ID. Without it boto3 looks in its usual places (environment, profile, instance role).
    type: str
  secret_key:
    description: S3 only. The secret access key.
    type: str
  session_token:
    description: S3 only. A session token for temporary credentials.
    type: str
  username:
    description: HTTP only. User name for basic authentication.
    type: str
  password:
    description: HTTP only. Password (or API key) for basic authentication.
    type: str
  token:
    description: "HTTP only. A bearer token (sent as C(Authorization: Bearer ...)); takes precedence over O(username)."
    type: str

  validate_certs:
    description: Verify TLS certificates of HTTPS and S3 endpoints.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the server to connect or answer, per request.
    type: int
    default: 60
  retries:
    description:
      - How many times a request is tried again after a connection error or a 5xx answer (exponential backoff with
        jitter). A 4xx answer fails at once with the server's message.
    type: int
    default: 3
  stale_age:
    description:
      - Seconds after which what an interrupted run left in the repository is taken to be abandoned and removed by
        the next upload, promotion or prune of the same place, such as temporary files of a V(file://) repository,
        unfinished S3 multipart uploads, and version locks whose holder stopped. What was removed is returned as
        C(cleaned).
      - Must be longer than the longest upload; a temporary file younger than this is never touched, so a live
        upload is never disturbed.
    type: int
    default: 3600
"""

    # app_rollout's repository_options: the same options, for its repository or artifact URL.
    REPOSITORY_OPTIONS = r"""
options:
  repository_options:
    description:
      - Connection options of O(repository) or O(artifact_url), as the top-level options of
        M(conveyor.cicd.artifact_fetch).
    type: dict
    default: {}
    suboptions:
      endpoint_url:
        description:
          - S3 only. The endpoint of an S3-compatible server, for example V(https://minio.example.com:9000).
          - Path-style addressing is used when this is set.
        type: str
      region:
        description: S3 only. The region of the bucket.
        type: str
      access_key:
        description:
          - S3 only. The access key ID. Without it boto3 looks in its usual places (environment, profile, instance role).
        type: str
      secret_key:
        description: S3 only. The secret access key.
        type: str
      session_token:
        description: S3 only. A session token for temporary credentials.
        type: str
      username:
        description: HTTP only. User name for basic authentication.
        type: str
      password:
        description: HTTP only. Password (or API key) for basic authentication.
        type: str
      token:
        description: "HTTP only. A bearer token (sent as C(Authorization: Bearer ...)); takes precedence over O(repository_options.username)."
        type: str

      validate_certs:
        description: Verify TLS certificates of HTTPS and S3 endpoints.
        type: bool
        default: true
      timeout:
        description: Seconds to wait for the server to connect or answer, per request.
        type: int
        default: 60
      retries:
        description:
          - How many times a request is tried again after a connection error or a 5xx answer (exponential backoff with
            jitter). A 4xx answer fails at once with the server's message.
        type: int
        default: 3
"""

    # artifact_promote's dest_options: the credentials of the destination.
    DEST_OPTIONS = r"""
options:
  dest_options:
    description:
      - Connection options for O(dest_repository) where they differ from the source's; options not given here are
        taken from the source's.
    type: dict
    suboptions:
      endpoint_url:
        description:
          - S3 only. The endpoint of an S3-compatible server, for example V(https://minio.example.com:9000).
          - Path-style addressing is used when this is set.
        type: str
      region:
        description: S3 only. The region of the bucket.
        type: str
      access_key:
        description:
          - S3 only. The access key ID. Without it boto3 looks in its usual places (environment, profile, instance role).
        type: str
      secret_key:
        description: S3 only. The secret access key.
        type: str
      session_token:
        description: S3 only. A session token for temporary credentials.
        type: str
      username:
        description: HTTP only. User name for basic authentication.
        type: str
      password:
        description: HTTP only. Password (or API key) for basic authentication.
        type: str
      token:
        description: "HTTP only. A bearer token (sent as C(Authorization: Bearer ...)); takes precedence over O(dest_options.username)."
        type: str
"""
