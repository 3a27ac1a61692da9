"""The bucket a migration copies through: an S3-compatible one the user binds, or a local
directory (the embedded demo, where the sandbox's instances share one machine).

ComputeHub never contacts a bucket: only rclone on the instances does, so nothing here opens a
connection or resolves a name. A user-supplied endpoint still has to be an https URL whose host
is a DNS name or a global IP literal (never loopback, private, link-local such as the metadata
service at 169.254.169.254, ...): the instance's rclone must not be pointed at its own provider's
internal network either. AWS, R2 and B2 endpoints are built from fixed templates, not typed in.
The ``s3_test`` kind (plain http on loopback, for the moto server of the tests) is refused by
``bucket_from_user_input``, which is what any form or API must call.

Credentials are stored like provider keys: one keyring ciphertext whose associated data names the
workspace and the bucket binding (table ``migration_buckets`` still to be made: workspace, name,
kind, bucket, prefix, region, endpoint, directory, credentials_encrypted; unique per workspace+name).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from app.migration.errors import InvalidSyncInput
from app.migration.paths import validate_path
from app.repair.addresses import refusal
from app.repair.endpoint import EndpointRefused, parse_endpoint
from app.security.keyring import Keyring

RCLONE_REMOTE = "chbucket"
_ENV = f"RCLONE_CONFIG_{RCLONE_REMOTE.upper()}_"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_B2_BUCKET = re.compile(r"^[A-Za-z0-9-]{6,50}$")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")
_ACCESS_KEY = re.compile(r"^[A-Za-z0-9/+=_-]{1,128}$")
_SECRET = re.compile(r"^[\x21-\x7e]{1,256}$")  # printable ASCII, no spaces
_R2_HOST = re.compile(r"^[0-9a-f]{32}\.(eu\.|fedramp\.)?r2\.cloudflarestorage\.com$")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")


class BucketKind(StrEnum):
    AWS = "aws"
    R2 = "r2"
    B2 = "b2"
    MINIO = "minio"  # any S3-compatible service at the user's https endpoint
    LOCAL = "local"  # a directory on the instance's machine (embedded demo)
    S3_TEST = "s3_test"  # http on loopback (tests only; refused from users)


USER_KINDS = frozenset({BucketKind.AWS, BucketKind.R2, BucketKind.B2, BucketKind.MINIO})


@dataclass(frozen=True)
class BucketSpec:
    kind: BucketKind
    bucket: str = ""
    prefix: str = ""
    region: str = ""
    endpoint: str = ""
    """https URL (r2, minio; b2's is derived from the region); empty for aws and local."""
    directory: str = ""
    """local kind only: the absolute directory standing in for the bucket."""
    access_key_id: str = field(default="", repr=False)
    secret_access_key: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", BucketKind(self.kind))
        _validate(self)

    @property
    def is_s3(self) -> bool:
        return self.kind is not BucketKind.LOCAL

    def key(self, *parts: str) -> str:
        """``chbucket:<bucket>/<prefix>/<parts...>``: an rclone path inside the bucket."""
        base = self.directory if self.kind is BucketKind.LOCAL else self.bucket
        inner = "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))
        return f"{RCLONE_REMOTE}:{base}/{inner}" if inner else f"{RCLONE_REMOTE}:{base}"

    def rclone_env(self) -> dict[str, str]:
        """The rclone remote as ``RCLONE_CONFIG_CHBUCKET_*`` variables (secrets included): given to
        one command's environment only, so no config file is ever written on the instance."""
        env = {"RCLONE_CONFIG": "/dev/null"}  # never read or write the instance's own rclone.conf
        if self.kind is BucketKind.LOCAL:
            env[_ENV + "TYPE"] = "local"
            return env
        provider = {BucketKind.AWS: "AWS", BucketKind.R2: "Cloudflare", BucketKind.MINIO: "Minio"}.get(self.kind, "Other")
        env.update({_ENV + "TYPE": "s3", _ENV + "PROVIDER": provider, _ENV + "ENV_AUTH": "false",
                    _ENV + "ACCESS_KEY_ID": self.access_key_id, _ENV + "SECRET_ACCESS_KEY": self.secret_access_key})
        if self.region:
            env[_ENV + "REGION"] = self.region
        endpoint = self.endpoint_url
        if endpoint:
            env[_ENV + "ENDPOINT"] = endpoint
        if self.kind in (BucketKind.MINIO, BucketKind.S3_TEST):
            env[_ENV + "FORCE_PATH_STYLE"] = "true"
        return env

    @property
    def endpoint_url(self) -> str:
        if self.kind is BucketKind.B2:
            return f"https://s3.{self.region}.backblazeb2.com"
        return self.endpoint


def _validate(spec: BucketSpec) -> None:
    if spec.prefix and (len(spec.prefix) > 256 or not _PREFIX.match(spec.prefix)
                        or any(p in (".", "..") for p in spec.prefix.split("/"))):
        raise InvalidSyncInput("the bucket prefix may hold letters, digits, '.', '_', '-' and '/' between them")
    if spec.kind is BucketKind.LOCAL:
        validate_path(spec.directory)
        if spec.bucket or spec.endpoint or spec.access_key_id or spec.secret_access_key:
            raise InvalidSyncInput("a local bucket is only a directory")
        return
    bucket_ok = _B2_BUCKET.match(spec.bucket) if spec.kind is BucketKind.B2 else _BUCKET.match(spec.bucket)
    if not bucket_ok or ".." in spec.bucket:
        raise InvalidSyncInput("the bucket name is not valid for this kind of bucket")
    if spec.region and not _REGION.match(spec.region):
        raise InvalidSyncInput("the region may hold lower-case letters, digits and '-'")
    if spec.kind in (BucketKind.AWS, BucketKind.B2) and not spec.region:
        raise InvalidSyncInput("this kind of bucket needs its region")
    if not _ACCESS_KEY.match(spec.access_key_id) or not _SECRET.match(spec.secret_access_key):
        raise InvalidSyncInput("the access key id or secret is missing or has characters a key never has")
    if spec.kind in (BucketKind.AWS, BucketKind.B2):
        if spec.endpoint:
            raise InvalidSyncInput("this kind of bucket has a fixed endpoint; leave it empty")
    elif spec.kind is BucketKind.S3_TEST:
        _check_test_endpoint(spec.endpoint)
    else:
        host = _check_https_endpoint(spec.endpoint)
        if spec.kind is BucketKind.R2 and not _R2_HOST.match(host):
            raise InvalidSyncInput("an R2 endpoint looks like https://<account id>.r2.cloudflarestorage.com")


def _check_https_endpoint(url: str) -> str:
    try:
        endpoint = parse_endpoint(url)  # strict syntax: no user info, odd IPv4 forms, control chars
    except EndpointRefused as exc:
        raise InvalidSyncInput(str(exc).replace("health endpoint", "bucket endpoint")) from None
    if endpoint.scheme != "https" or endpoint.path != "/":
        raise InvalidSyncInput("the bucket endpoint must be https://host[:port] without a path")
    host = endpoint.host
    if endpoint.is_ip:
        import ipaddress

        reason = refusal(ipaddress.ip_address(host))
        if reason:
            raise InvalidSyncInput(f"the bucket endpoint is {reason}; use its public address or name")
    elif "." not in host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        raise InvalidSyncInput("the bucket endpoint must be a public host name")
    return host


def _check_test_endpoint(url: str) -> None:
    if not re.fullmatch(r"http://127\.0\.0\.1:[0-9]{1,5}", url or ""):
        raise InvalidSyncInput("an s3_test bucket is http://127.0.0.1:<port> only")


def bucket_from_user_input(**fields: str) -> BucketSpec:
    """What a form or the API builds: the user's kinds only."""
    kind = fields.get("kind", "")
    if kind not in {k.value for k in USER_KINDS}:
        raise InvalidSyncInput("the bucket kind must be one of aws, r2, b2, minio")
    return BucketSpec(**fields)  # type: ignore[arg-type]


# -- stored form -----------------------------------------------------------------------------------

def bucket_aad(workspace: str, name: str) -> str:
    return f"computehub:bucket:workspace={workspace}:bucket={name}"


@dataclass(frozen=True)
class SealedBucket:
    """A bucket binding as stored: everything but the credentials in clear, those encrypted."""

    workspace: str
    name: str
    settings: dict
    credentials_encrypted: str


def seal_bucket(keyring: Keyring, workspace: str, name: str, spec: BucketSpec) -> SealedBucket:
    clear = {k: v for k, v in asdict(spec).items() if k not in ("access_key_id", "secret_access_key")}
    clear["kind"] = spec.kind.value
    secret = json.dumps({"access_key_id": spec.access_key_id, "secret_access_key": spec.secret_access_key})
    return SealedBucket(workspace, name, clear, keyring.encrypt(secret, bucket_aad(workspace, name)))


def open_bucket(keyring: Keyring, sealed: SealedBucket) -> BucketSpec:
    secret = json.loads(keyring.decrypt(sealed.credentials_encrypted, bucket_aad(sealed.workspace, sealed.name)))
    return BucketSpec(**sealed.settings, **secret)
