"""Request signatures for Alibaba Cloud (ACS3-HMAC-SHA256) and Tencent Cloud (TC3-HMAC-SHA256).

Written by hand instead of pulling in two vendor SDKs (synchronous, heavy) for two calls each. The
functions are pure: the time and the nonce come in as arguments, so the official worked examples
replay byte for byte in the tests. Each returns the intermediate strings too — a mismatch with the
provider is then debuggable from the error message the provider sends back ("server string to sign").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

ACS3_ALGORITHM: Final = "ACS3-HMAC-SHA256"
TC3_ALGORITHM: Final = "TC3-HMAC-SHA256"
TC3_CONTENT_TYPE: Final = "application/json; charset=utf-8"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class SignedRequest:
    headers: dict[str, str]  # every header to send, Authorization included
    canonical_request: str
    string_to_sign: str
    signature: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are; space is %20, `*` is %2A (not Java's `+`/`*`)."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """Parameters sorted by name, names and values percent-encoded; also the query string we put on the wire."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("signing needs an aware datetime (providers compare against UTC)")
    return now.astimezone(UTC)


def acs3_sign(
    *,
    method: str,
    host: str,
    action: str,
    version: str,
    query: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    access_key_secret: str,
    now: datetime,
    nonce: str,
) -> SignedRequest:
    """Alibaba Cloud V3 signature for an RPC-style API (canonical URI `/`, parameters in the query)."""
    payload_hash = sha256_hex(body)
    signed = {
        "host": host,
        "x-acs-action": action,
        "x-acs-content-sha256": payload_hash,
        "x-acs-date": _utc(now).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce,
        "x-acs-version": version,
    }
    names = sorted(signed)
    canonical_headers = "".join(f"{name}:{signed[name].strip()}\n" for name in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        [method.upper(), "/", canonical_query(query), canonical_headers, signed_headers, payload_hash]
    )
    string_to_sign = f"{ACS3_ALGORITHM}\n{sha256_hex(canonical_request.encode('utf-8'))}"
    signature = hmac.new(access_key_secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = f"{ACS3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    return SignedRequest({**signed, "Authorization": authorization}, canonical_request, string_to_sign, signature)


def tc3_sign(
    *,
    host: str,
    service: str,
    action: str,
    version: str,
    region: str,
    payload: bytes,
    secret_id: str,
    secret_key: str,
    now: datetime,
) -> SignedRequest:
    """Tencent Cloud API 3.0 signature for a POST with a JSON body (signed headers content-type;host)."""
    utc_now = _utc(now)
    timestamp = str(int(utc_now.timestamp()))
    date = utc_now.strftime("%Y-%m-%d")  # the UTC date of the timestamp, never the local one
    # The spec lowercases header values as well as names.
    canonical_headers = f"content-type:{TC3_CONTENT_TYPE.lower()}\nhost:{host.lower()}\n"
    signed_headers = "content-type;host"
    canonical_request = "\n".join(["POST", "/", "", canonical_headers, signed_headers, sha256_hex(payload)])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join([TC3_ALGORITHM, timestamp, scope, sha256_hex(canonical_request.encode("utf-8"))])
    key = _hmac_sha256(("TC3" + secret_key).encode("utf-8"), date)
    key = _hmac_sha256(key, service)
    key = _hmac_sha256(key, "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = (
        f"{TC3_ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
    headers = {
        "Authorization": authorization,
        "Content-Type": TC3_CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Timestamp": timestamp,
        "X-TC-Version": version,
    }
    if region:
        headers["X-TC-Region"] = region
    return SignedRequest(headers, canonical_request, string_to_sign, signature)
