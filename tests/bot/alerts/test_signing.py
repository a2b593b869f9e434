"""Known-answer tests: the providers' own worked examples, replayed by the signer and by the fakes.

Sources: Alibaba Cloud "V3 request structure and signature" (RunInstances example) and Tencent Cloud
"Signature v3" (CVM DescribeInstances example). The fakes' verifiers are checked against the same
numbers, so signer and verifier are each right on their own, not merely consistent with each other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.alerts.channels.signing import acs3_sign, canonical_query, tc3_sign
from tests.fakes import aliyun as fake_aliyun
from tests.fakes import tencent as fake_tencent

# Alibaba Cloud's example
ACS_QUERY = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
ACS_NOW = datetime(2023, 10, 26, 10, 22, 32, tzinfo=UTC)
ACS_NONCE = "3156853299f313e23d1673dc12e1703d"
ACS_EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ACS_CANONICAL_REQUEST = (
    "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
    "host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n"
    f"x-acs-content-sha256:{ACS_EMPTY_SHA256}\nx-acs-date:2023-10-26T10:22:32Z\n"
    f"x-acs-signature-nonce:{ACS_NONCE}\nx-acs-version:2014-05-26\n\n"
    f"host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n{ACS_EMPTY_SHA256}"
)
ACS_STRING_TO_SIGN = "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
ACS_SIGNATURE = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"

# Tencent Cloud's example
TC_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
TC_NOW = datetime.fromtimestamp(1551113065, UTC)
TC_CANONICAL_REQUEST = (
    "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
    "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
)
TC_STRING_TO_SIGN = (
    "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
    "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
)
TC_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def test_acs3_reproduces_alibaba_clouds_example() -> None:
    signed = acs3_sign(
        method="POST",
        host="ecs.cn-shanghai.aliyuncs.com",
        action="RunInstances",
        version="2014-05-26",
        query=ACS_QUERY,
        body=b"",
        access_key_id="YourAccessKeyId",
        access_key_secret="YourAccessKeySecret",
        now=ACS_NOW,
        nonce=ACS_NONCE,
    )
    assert signed.canonical_request == ACS_CANONICAL_REQUEST
    assert signed.string_to_sign == ACS_STRING_TO_SIGN
    assert signed.headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
        f"x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={ACS_SIGNATURE}"
    )
    assert signed.headers["x-acs-date"] == "2023-10-26T10:22:32Z"
    assert signed.headers["x-acs-content-sha256"] == ACS_EMPTY_SHA256


def test_tc3_reproduces_tencent_clouds_example() -> None:
    signed = tc3_sign(
        host="cvm.tencentcloudapi.com",
        service="cvm",
        action="DescribeInstances",
        version="2017-03-12",
        region="ap-guangzhou",
        payload=TC_PAYLOAD,
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        now=TC_NOW,
    )
    assert signed.canonical_request == TC_CANONICAL_REQUEST
    assert signed.string_to_sign == TC_STRING_TO_SIGN
    assert signed.headers == {
        "Authorization": "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={TC_SIGNATURE}",
        "Content-Type": "application/json; charset=utf-8",
        "Host": "cvm.tencentcloudapi.com",
        "X-TC-Action": "DescribeInstances",
        "X-TC-Timestamp": "1551113065",
        "X-TC-Version": "2017-03-12",
        "X-TC-Region": "ap-guangzhou",
    }


def test_tc3_scope_uses_the_utc_date() -> None:
    # 2019-02-26 00:44:25 in Beijing is still 2019-02-25 in UTC (the doc's own warning).
    beijing = datetime.fromisoformat("2019-02-26T00:44:25+08:00")
    signed = tc3_sign(host="h", service="sms", action="A", version="v", region="", payload=b"{}",
                      secret_id="id", secret_key="k", now=beijing)  # fmt: skip
    assert "/2019-02-25/sms/tc3_request," in signed.headers["Authorization"]
    assert "X-TC-Region" not in signed.headers


def test_canonical_query_is_rfc3986() -> None:
    params = {"b": "a b*~", "a": "中/+=&", "TemplateParam": '{"k":"v"}'}
    assert canonical_query(params) == "TemplateParam=%7B%22k%22%3A%22v%22%7D&a=%E4%B8%AD%2F%2B%3D%26&b=a%20b%2A~"


def test_the_fake_aliyun_verifier_reproduces_the_example() -> None:
    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-content-sha256": ACS_EMPTY_SHA256,
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": ACS_NONCE,
        "x-acs-version": "2014-05-26",
    }
    sts, signature = fake_aliyun.expected_signature(
        "POST", list(ACS_QUERY.items()), headers, sorted(headers), b"", "YourAccessKeySecret"
    )
    assert (sts, signature) == (ACS_STRING_TO_SIGN, ACS_SIGNATURE)


def test_the_fake_tencent_verifier_reproduces_the_example() -> None:
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    sts, signature = fake_tencent.expected_signature(
        headers, ["content-type", "host"], TC_PAYLOAD, "1551113065", "2019-02-25", "cvm",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    )  # fmt: skip
    assert (sts, signature) == (TC_STRING_TO_SIGN, TC_SIGNATURE)
