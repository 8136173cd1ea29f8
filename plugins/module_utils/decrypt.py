# Copyright: redrive.eventbridge contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decrypt the event inside an EventBridge encrypted-event wrapper.

The EventBridge page "Decrypting events in EventBridge dead-letter queues" decrypts
`encrypted-payload` (base64 of an AWS Encryption SDK message) with the algorithm suite
ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY and a KMS master key provider in strict mode on the
wrapper's `kms-key-arn`; the plaintext is the event JSON in UTF-8. The event bus encryption
context is the bus ARN: the page "Encrypting EventBridge event buses with AWS KMS keys"
names it `aws:events:event-bus:arn`, while the sample ciphertext on the decrypting page
carries it under `aws:events:event-bus`. Either key is accepted, and its value must be the
wrapper's `event-bus-arn`: a payload bound to another bus is refused.

KMS is called through the caller's KMS client (its credentials, region, endpoint), never
one the SDK would build itself: `StrictAwsKmsMasterKeyProvider` only takes a botocore
session and makes its own clients (and wraps their methods), so a single `KMSMasterKey` is
used instead. It is strict by construction: it decrypts only data keys wrapped by the one
key ARN it holds.

The SDK (`aws-encryption-sdk` on PyPI) is the optional extra `decrypt`; without it every
call raises DecryptError with code `MissingDependency`. It is imported on the first
wrapper to decrypt, not with this module: `import aws_encryption_sdk` imports boto3 (its
KMS key provider does, at the top), and the AWS CLI plugin, whose core imports this
module, must not import boto3 on its way to a run that decrypts nothing. boto3 cannot
be imported inside AWS CLI v2 at all (it fails against the CLI's own botocore), so there
decrypting is refused, with that reason, before the run touches a message.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.util
import logging
from types import SimpleNamespace
from typing import Any, Optional

from . import sdk
from .records import ORIGIN_ENCRYPTED_EVENT, DlqRecord, with_decrypted_event

# Whether the package is there, found without importing it (and so boto3).
HAS_ENCRYPTION_SDK = importlib.util.find_spec("aws_encryption_sdk") is not None

EXTRA = "decrypt"  # the optional dependency group in pyproject.toml
MISSING_SDK = (
    f"decrypting encrypted events needs the AWS Encryption SDK: install the '{EXTRA}' extra"
    f" (pip install 'redrive-eventbridge[{EXTRA}]', or pip install aws-encryption-sdk)"
)
CLI_V2_WITHOUT_BOTO3 = (
    "decrypt needs boto3 (the AWS Encryption SDK imports it), which cannot load inside AWS"
    " CLI v2's own botocore ({error}); use AWS CLI v1, the module or the lookup to decrypt"
)
MISSING_DEPENDENCY = "MissingDependency"
ALGORITHM_ID = 0x0478  # ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY
BUS_CONTEXT_KEYS = ("aws:events:event-bus:arn", "aws:events:event-bus")
# The wrapper names one key; the page's sample message holds one encrypted data key.
MAX_ENCRYPTED_DATA_KEYS = 1

# Our codes; with KMS's two payload refusals they are the permanent ones: no change to the
# key or its permissions will ever make such a payload decrypt.
TAMPERED = "tampered"
WRONG_KEY = "wrong_key"
CONTEXT_MISMATCH = "context_mismatch"
ALGORITHM_MISMATCH = "algorithm_mismatch"
INVALID_PAYLOAD = "invalid_payload"
INVALID_PLAINTEXT = "invalid_plaintext"
NOT_ENCRYPTED_EVENT = "not_encrypted_event"
_PAYLOAD_CODES = frozenset(
    (
        TAMPERED,
        WRONG_KEY,
        CONTEXT_MISMATCH,
        ALGORITHM_MISMATCH,
        INVALID_PAYLOAD,
        INVALID_PLAINTEXT,
        NOT_ENCRYPTED_EVENT,
        "InvalidCiphertextException",
        "IncorrectKeyException",
    )
)


class DecryptError(Exception):
    """Why a wrapper's payload was not decrypted.

    `code` is the KMS error code (AccessDeniedException, DisabledException,
    KMSInvalidStateException, ThrottlingException, ...), the botocore error class for a
    request that got no answer (EndpointConnectionError, ReadTimeoutError, ...),
    `MissingDependency` without the SDK, or one of ours: `tampered`, `wrong_key`,
    `context_mismatch`, `algorithm_mismatch`, `invalid_payload`, `invalid_plaintext`,
    `not_encrypted_event`. `permanent` is True when the payload itself can never be
    decrypted (no fix to the key or its permissions helps). Messages quote no payload.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def permanent(self) -> bool:
        return self.code in _PAYLOAD_CODES


def require_encryption_sdk() -> None:
    """Raise DecryptError(MissingDependency) now, rather than on the first wrapper.

    The SDK is only looked for, not imported, except inside AWS CLI v2: there boto3, which
    the SDK imports, is known to fail against the CLI's own botocore, and a run that could
    not decrypt a single wrapper is stopped before it starts."""
    if not HAS_ENCRYPTION_SDK:
        raise DecryptError(MISSING_DEPENDENCY, MISSING_SDK)
    if sdk.bundling_cli(_botocore()) == 2:
        _encryption_sdk()


def _botocore() -> Any:
    try:
        import botocore  # pylint: disable=import-outside-toplevel
    except ImportError:  # the run fails on its clients, with its own message
        return None
    return botocore


def _encryption_sdk() -> SimpleNamespace:
    """The SDK's names, imported once, on first use (see the module docstring)."""
    if not HAS_ENCRYPTION_SDK:
        raise DecryptError(MISSING_DEPENDENCY, MISSING_SDK)
    return _import_encryption_sdk()


# A failed import is not cached: the next wrapper tries again and names the same error.
@functools.cache
def _import_encryption_sdk() -> SimpleNamespace:
    # boto3 first, so that its failure is named as such and not as the SDK's.
    try:
        # pylint: disable-next=import-outside-toplevel,unused-import
        import boto3  # noqa: F401
    except ImportError as error:
        raise DecryptError(MISSING_DEPENDENCY, _without_boto3(error)) from None
    try:
        # pylint: disable=import-outside-toplevel
        import aws_encryption_sdk
        from aws_encryption_sdk import exceptions
        from aws_encryption_sdk.identifiers import CommitmentPolicy
        from aws_encryption_sdk.key_providers.kms import KMSMasterKey
        from botocore.exceptions import BotoCoreError, ClientError
        from cryptography.exceptions import InvalidTag
    except ImportError as error:
        raise DecryptError(
            MISSING_DEPENDENCY, f"the AWS Encryption SDK is installed but does not import: {error}"
        ) from None
    # The SDK logs every refused payload with a traceback; without a handler of its own
    # Python would print those to stderr, in the middle of a module's or the CLI's output.
    logging.getLogger("aws_encryption_sdk").addHandler(logging.NullHandler())
    return SimpleNamespace(
        client=aws_encryption_sdk.EncryptionSDKClient,
        exceptions=exceptions,
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
        key_class=_watched_key_class(KMSMasterKey, exceptions.DecryptKeyError, ClientError),
        botocore_error=BotoCoreError,
        invalid_tag=InvalidTag,
    )


def _without_boto3(error: ImportError) -> str:
    if sdk.bundling_cli(_botocore()) == 2:
        return CLI_V2_WITHOUT_BOTO3.format(error=error)
    return f"decrypt needs boto3 (the AWS Encryption SDK imports it): {error}"


def _watched_key_class(key_class: Any, decrypt_key_error: Any, client_error: Any) -> Any:
    class WatchedKmsMasterKey(key_class):  # type: ignore[misc,valid-type]
        """A KMSMasterKey that remembers whether it called KMS and what KMS answered.

        The SDK turns every failure into "Unable to decrypt any data key"; the KMS error
        code is what tells a denied key from a tampered payload.
        """

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.called_kms = False
            self.kms_error: Optional[Any] = None

        def _decrypt_data_key(
            self, encrypted_data_key: Any, algorithm: Any, encryption_context: Any = None
        ) -> Any:
            self.called_kms = True
            try:
                return super()._decrypt_data_key(encrypted_data_key, algorithm, encryption_context)
            except decrypt_key_error as error:
                if isinstance(error.__cause__, client_error):
                    self.kms_error = error.__cause__
                raise

    return WatchedKmsMasterKey


def _kms_error(error: Any) -> DecryptError:
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "KMSError")
    return DecryptError(code, str(details.get("Message") or "KMS refused Decrypt"))


def _ciphertext(record: DlqRecord) -> bytes:
    if record.origin != ORIGIN_ENCRYPTED_EVENT or record.decrypted:
        raise DecryptError(NOT_ENCRYPTED_EVENT, "the record is not an encrypted-event wrapper")
    if not record.kms_key_arn or not record.event_bus_arn:
        raise DecryptError(INVALID_PAYLOAD, "the wrapper names no kms-key-arn or event-bus-arn")
    try:
        ciphertext = base64.b64decode(record.encrypted_payload or "", validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError(INVALID_PAYLOAD, "encrypted-payload is not base64") from None
    if not ciphertext:
        raise DecryptError(INVALID_PAYLOAD, "encrypted-payload is empty")
    return ciphertext


def _sdk_failure(error: Exception, key: Any, key_arn: str) -> DecryptError:
    """Name what went wrong, from what KMS said if it was asked."""
    errors = _encryption_sdk().exceptions
    if key.kms_error is not None:
        return _kms_error(key.kms_error)
    if isinstance(error, errors.DecryptKeyError):
        if key.called_kms:
            return DecryptError(WRONG_KEY, "KMS did not return a data key for this key")
        return DecryptError(WRONG_KEY, f"the payload is not encrypted under {key_arn}")
    if isinstance(error, errors.ActionNotAllowedError):
        return DecryptError(ALGORITHM_MISMATCH, "the payload uses a non-committing suite")
    if isinstance(error, errors.MaxEncryptedDataKeysExceeded):
        return DecryptError(TAMPERED, "the payload holds more data keys than EventBridge writes")
    if isinstance(error, errors.NotSupportedError):
        return DecryptError(INVALID_PAYLOAD, "not an AWS Encryption SDK message")
    return DecryptError(TAMPERED, f"the payload does not authenticate ({type(error).__name__})")


def _check_header(header: Any, record: DlqRecord) -> None:
    if header.algorithm.algorithm_id != ALGORITHM_ID:
        raise DecryptError(
            ALGORITHM_MISMATCH,
            f"algorithm suite {header.algorithm.algorithm_id:#06x}, EventBridge uses"
            f" {ALGORITHM_ID:#06x}",
        )
    context = header.encryption_context
    bound = [context[key] for key in BUS_CONTEXT_KEYS if key in context]
    if not bound or any(value != record.event_bus_arn for value in bound):
        raise DecryptError(
            CONTEXT_MISMATCH,
            f"the payload's encryption context does not name event bus {record.event_bus_arn}",
        )


def decrypt_record(record: DlqRecord, kms_client: Any) -> DlqRecord:
    """The record of `record`'s message holding the original event, or DecryptError.

    `kms_client` is a KMS client (boto3's, or botocore's from the AWS CLI's session); it
    makes the one Decrypt call. The new record's event may still be unusable (its
    `problem` then says why, prefixed `decrypted_`); its bus is `event_bus_name`, from
    the wrapper's `event-bus-arn`.
    """
    loaded = _encryption_sdk()
    ciphertext = _ciphertext(record)
    client = loaded.client(
        commitment_policy=loaded.commitment_policy,
        max_encrypted_data_keys=MAX_ENCRYPTED_DATA_KEYS,
    )
    refusals = (loaded.exceptions.AWSEncryptionSDKClientError, loaded.invalid_tag)
    try:
        key = loaded.key_class(key_id=record.kms_key_arn, client=kms_client)
    except (TypeError, ValueError, loaded.exceptions.AWSEncryptionSDKClientError) as error:
        raise DecryptError(INVALID_PAYLOAD, f"unusable kms-key-arn ({error})") from None
    try:
        plaintext, header = client.decrypt(source=ciphertext, key_provider=key)
    except loaded.botocore_error as error:
        raise DecryptError(type(error).__name__, str(error)) from None
    except refusals as error:
        raise _sdk_failure(error, key, record.kms_key_arn or "") from None
    _check_header(header, record)
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError(INVALID_PLAINTEXT, "the decrypted event is not UTF-8") from None
    return with_decrypted_event(record, text)
