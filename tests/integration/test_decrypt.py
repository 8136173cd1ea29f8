"""Decrypting encrypted-event wrappers against moto's KMS over HTTP.

Payloads are made the way the EventBridge page "Decrypting events in EventBridge dead-letter
queues" reads them: an AWS Encryption SDK message (suite ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
under the wrapper's KMS key, bound to the bus ARN by the encryption context, base64 encoded.
What moto does not do like KMS (refusals for a denied caller or a disabled key) comes from the
fault proxy.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any, Optional

import aws_encryption_sdk
import boto3
import botocore.config
import pytest
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy
from aws_encryption_sdk.key_providers.kms import KMSMasterKey

from ansible_collections.redrive.eventbridge.plugins.module_utils import decrypt
from ansible_collections.redrive.eventbridge.plugins.module_utils.decrypt import (
    DecryptError,
    decrypt_record,
)
from ansible_collections.redrive.eventbridge.plugins.module_utils.records import (
    DlqRecord,
    parse_message,
)
from tests.support.ansible_run import REPO
from tests.support.events import (
    REGION,
    SAMPLE_ENCRYPTED_PAYLOAD,
    body_of,
    bus_arn,
    custom_event,
    encrypted_event_message,
    scheduler_dead_letter_message,
)
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.moto_server import free_port
from tests.support.world import CREDENTIALS, client

DOCUMENTED_CONTEXT_KEY = "aws:events:event-bus:arn"  # "Encrypting EventBridge event buses"
SAMPLE_CONTEXT_KEY = "aws:events:event-bus"  # what the decrypting page's sample carries


@pytest.fixture(scope="module")
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_url) as started:
        yield started


@pytest.fixture
def kms(proxy: FaultProxy) -> Any:
    proxy.reset()
    return client("kms", proxy.url)


@pytest.fixture
def key_arn(kms: Any) -> str:
    return kms.create_key(Description="orders bus")["KeyMetadata"]["Arn"]


def encrypt_like_eventbridge(
    kms: Any,
    key: str,
    plaintext: bytes,
    bus: str = "orders",
    context: Optional[dict[str, str]] = None,
    algorithm: Any = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    policy: Any = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
) -> str:
    sdk = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=policy)
    ciphertext, _header = sdk.encrypt(
        source=plaintext,
        key_provider=KMSMasterKey(key_id=key, client=kms),
        algorithm=algorithm,
        encryption_context=context or {DOCUMENTED_CONTEXT_KEY: bus_arn(bus)},
    )
    return base64.b64encode(ciphertext).decode("ascii")


def wrapper(payload: str, key: str, bus: str = "orders") -> DlqRecord:
    message = encrypted_event_message(payload, bus=bus, key_arn=key)
    return parse_message(
        {"MessageId": "m-1", "ReceiptHandle": "h-1", "Body": message["MessageBody"]}
    )


def refused(record: DlqRecord, kms: Any) -> DecryptError:
    with pytest.raises(DecryptError) as raised:
        decrypt_record(record, kms)
    return raised.value


def flip(payload: str, index: int) -> str:
    data = bytearray(base64.b64decode(payload))
    data[index] ^= 0x01
    return base64.b64encode(bytes(data)).decode("ascii")


# ---- what decrypts ----------------------------------------------------------------------------


def test_the_original_event_comes_back_exactly(kms: Any, key_arn: str, proxy: FaultProxy) -> None:
    event = custom_event(42)
    text = body_of(event).replace('"total":2401.0', '"total":2401.00')  # a spelling to keep
    payload = encrypt_like_eventbridge(kms, key_arn, text.encode())
    before = Counter(proxy.calls)
    record = decrypt_record(wrapper(payload, key_arn), kms)
    # One KMS call, Decrypt, and nothing else: the documented statement is all it needs.
    assert proxy.calls - before == Counter({"Decrypt": 1})
    statement = json.loads((REPO / "docs" / "iam" / "decrypt-statement.json").read_text())
    assert statement["Action"] == ["kms:Decrypt"]
    assert record.redrivable and record.decrypted
    assert record.event == json.loads(text)
    assert record.event_id == event["id"]
    assert record.detail_text == text[text.index('"detail":') + 9 : -1]
    assert "2401.00" in (record.detail_text or "") and "山田 太郎" in (record.detail_text or "")
    assert record.event_bus_name == "orders"


def test_the_sample_payloads_context_key_is_accepted(kms: Any, key_arn: str) -> None:
    context = {SAMPLE_CONTEXT_KEY: bus_arn("orders")}
    payload = encrypt_like_eventbridge(
        kms, key_arn, body_of(custom_event()).encode(), context=context
    )
    assert decrypt_record(wrapper(payload, key_arn), kms).redrivable


def test_test_payloads_have_the_header_of_the_pages_sample(kms: Any, key_arn: str) -> None:
    """Message format 2, suite 0x0478, one context pair, as the page's sample begins."""
    ours = base64.b64decode(encrypt_like_eventbridge(kms, key_arn, b"{}"))
    sample = base64.b64decode(SAMPLE_ENCRYPTED_PAYLOAD)
    assert ours[:3] == sample[:3] == bytes.fromhex("020478")
    pairs_at = 1 + 2 + 32 + 2  # version, suite, message id, context length
    assert ours[pairs_at : pairs_at + 2] == sample[pairs_at : pairs_at + 2] == b"\x00\x01"


def test_a_plaintext_that_is_no_event_gives_a_kept_record(kms: Any, key_arn: str) -> None:
    payload = encrypt_like_eventbridge(kms, key_arn, b"not json")
    record = decrypt_record(wrapper(payload, key_arn), kms)
    assert record.decrypted and record.problem == "decrypted_invalid_json"


# ---- what does not --------------------------------------------------------------------------


def test_a_payload_under_another_key_is_wrong_key_without_asking_kms(
    kms: Any, key_arn: str, proxy: FaultProxy
) -> None:
    other = kms.create_key()["KeyMetadata"]["Arn"]
    payload = encrypt_like_eventbridge(kms, other, b"{}")
    error = refused(wrapper(payload, key_arn), kms)
    assert (error.code, error.permanent) == ("wrong_key", True)
    assert key_arn in error.message
    assert proxy.calls["Decrypt"] == 0


def test_access_denied_on_kms_decrypt_is_the_kms_code(
    kms: Any, key_arn: str, proxy: FaultProxy
) -> None:
    """moto does not enforce key policies; the proxy answers as KMS does for a denied caller."""
    payload = encrypt_like_eventbridge(kms, key_arn, b"{}")
    proxy.fail_calls(
        "Decrypt",
        "AccessDeniedException",
        message=f"User: arn:aws:iam::123456789012:user/ops is not authorized to perform:"
        f" kms:Decrypt on resource: {key_arn}",
    )
    error = refused(wrapper(payload, key_arn), kms)
    assert (error.code, error.permanent) == ("AccessDeniedException", False)
    assert "kms:Decrypt" in error.message
    assert proxy.calls["Decrypt"] == 1


def test_a_disabled_key_is_the_kms_code(kms: Any, key_arn: str, proxy: FaultProxy) -> None:
    payload = encrypt_like_eventbridge(kms, key_arn, b"{}")
    proxy.fail_calls("Decrypt", "DisabledException", message=f"{key_arn} is disabled.")
    assert refused(wrapper(payload, key_arn), kms).code == "DisabledException"


def test_moto_decrypts_with_a_disabled_key(kms: Any, key_arn: str) -> None:
    """Where moto differs: KMS answers DisabledException for a disabled key (and
    KMSInvalidStateException for one pending deletion); moto 5.2 decrypts."""
    payload = encrypt_like_eventbridge(kms, key_arn, body_of(custom_event()).encode())
    kms.disable_key(KeyId=key_arn.split("/")[-1])  # moto's DisableKey takes no ARN
    assert decrypt_record(wrapper(payload, key_arn), kms).redrivable


@pytest.mark.parametrize("where", ["body", "header", "footer"])
def test_a_tampered_payload_is_refused(kms: Any, key_arn: str, where: str) -> None:
    payload = encrypt_like_eventbridge(kms, key_arn, body_of(custom_event()).encode())
    size = len(base64.b64decode(payload))
    index = {"body": size - 40, "header": 10, "footer": size - 1}[where]
    error = refused(wrapper(flip(payload, index), key_arn), kms)
    assert (error.code, error.permanent) == ("tampered", True)


def test_a_tampered_data_key_is_refused_by_kms(kms: Any, key_arn: str) -> None:
    sdk = aws_encryption_sdk.EncryptionSDKClient()
    ciphertext, header = sdk.encrypt(
        source=b"{}",
        key_provider=KMSMasterKey(key_id=key_arn, client=kms),
        algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
        encryption_context={DOCUMENTED_CONTEXT_KEY: bus_arn("orders")},
    )
    blob = next(iter(header.encrypted_data_keys)).encrypted_data_key
    at = ciphertext.index(blob) + len(blob) - 1
    payload = flip(base64.b64encode(ciphertext).decode("ascii"), at)
    error = refused(wrapper(payload, key_arn), kms)
    assert (error.code, error.permanent) == ("InvalidCiphertextException", True)


def test_a_truncated_payload_is_refused(kms: Any, key_arn: str) -> None:
    payload = base64.b64decode(encrypt_like_eventbridge(kms, key_arn, b"{}"))
    truncated = base64.b64encode(payload[: len(payload) // 2]).decode("ascii")
    assert refused(wrapper(truncated, key_arn), kms).code == "tampered"


@pytest.mark.parametrize(
    "payload",
    ["not base64 at all!", base64.b64encode(b"hello, world").decode("ascii"), ""],
)
def test_a_payload_that_is_no_sdk_message_is_invalid(kms: Any, key_arn: str, payload: str) -> None:
    error = refused(wrapper(payload, key_arn), kms)
    assert (error.code, error.permanent) == ("invalid_payload", True)


def test_a_payload_bound_to_another_bus_is_a_context_mismatch(kms: Any, key_arn: str) -> None:
    payload = encrypt_like_eventbridge(kms, key_arn, b"{}", bus="payments")
    error = refused(wrapper(payload, key_arn, bus="orders"), kms)
    assert (error.code, error.permanent) == ("context_mismatch", True)
    assert bus_arn("orders") in error.message


def test_a_payload_bound_to_no_bus_is_a_context_mismatch(kms: Any, key_arn: str) -> None:
    payload = encrypt_like_eventbridge(kms, key_arn, b"{}", context={"purpose": "test"})
    assert refused(wrapper(payload, key_arn), kms).code == "context_mismatch"


def test_a_signing_suite_is_not_what_eventbridge_writes(kms: Any, key_arn: str) -> None:
    signing = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    payload = encrypt_like_eventbridge(kms, key_arn, b"{}", algorithm=signing)
    assert refused(wrapper(payload, key_arn), kms).code == "algorithm_mismatch"


def test_a_non_committing_suite_is_refused(kms: Any, key_arn: str) -> None:
    payload = encrypt_like_eventbridge(
        kms,
        key_arn,
        b"{}",
        algorithm=Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
        policy=CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
    )
    assert refused(wrapper(payload, key_arn), kms).code == "algorithm_mismatch"


def test_a_plaintext_that_is_not_utf8_is_refused(kms: Any, key_arn: str) -> None:
    payload = encrypt_like_eventbridge(kms, key_arn, b'{"source": "\xff"}')
    assert refused(wrapper(payload, key_arn), kms).code == "invalid_plaintext"


def test_kms_out_of_reach_is_the_botocore_error(kms: Any, key_arn: str) -> None:
    payload = encrypt_like_eventbridge(kms, key_arn, b"{}")
    unreachable = boto3.client(
        "kms",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name=REGION,
        config=botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=1),
        **CREDENTIALS,
    )
    error = refused(wrapper(payload, key_arn), unreachable)
    assert (error.code, error.permanent) == ("EndpointConnectionError", False)


def test_only_wrappers_are_decrypted(kms: Any, key_arn: str) -> None:
    message = scheduler_dead_letter_message()
    record = parse_message(
        {"Body": message["MessageBody"], "MessageAttributes": message["MessageAttributes"]}
    )
    assert refused(record, kms).code == "not_encrypted_event"
    decrypted = decrypt_record(
        wrapper(encrypt_like_eventbridge(kms, key_arn, body_of(custom_event()).encode()), key_arn),
        kms,
    )
    assert refused(decrypted, kms).code == "not_encrypted_event"  # once is enough


def test_without_the_sdk_the_error_names_the_extra(
    kms: Any, key_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decrypt, "HAS_ENCRYPTION_SDK", False)
    error = refused(wrapper(SAMPLE_ENCRYPTED_PAYLOAD, key_arn), kms)
    assert error.code == "MissingDependency"
    assert "'decrypt' extra" in error.message and "aws-encryption-sdk" in error.message
    with pytest.raises(DecryptError):
        decrypt.require_encryption_sdk()
