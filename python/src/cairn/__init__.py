"""Cairn from Python: a content-addressed artifact store and provenance ledger for genblaze manifests.

    >>> import cairn
    >>> store = cairn.Store(".cairn")            # opened, or created when absent
    >>> digest = store.put(b"hello")             # 'sha256:2cf24dba...'
    >>> store.get(digest)                        # verified read
    b'hello'
    >>> cairn.verify("manifest.json").ok         # genblaze's verdict, offline

Everything goes through libcairn.so (Cairn's C ABI, include/cairn.h), bundled in the wheel. Errors raise a
:class:`CairnError` subclass whose ``exit_code`` is the ``cairn`` CLI's for the same failure. The genblaze sink is
:class:`cairn.genblaze.CairnSink` (the ``genblaze`` extra).
"""

from __future__ import annotations

from cairn._native import lib as _lib
from cairn.errors import (
    BufferTooSmallError,
    CairnError,
    CairnIOError,
    CairnTypeError,
    ClosedError,
    CorruptError,
    InternalError,
    MalformedError,
    NotAStoreError,
    NotFoundError,
    StoreExistsError,
    UsageError,
    VerificationError,
)
from cairn.store import Store, Verdict, verify, verify_many

__version__ = "0.1.0"
#: The version of the bundled libcairn.so.
library_version: str = _lib.cairn_version().decode("ascii")

__all__ = [
    "BufferTooSmallError",
    "CairnError",
    "CairnIOError",
    "CairnTypeError",
    "ClosedError",
    "CorruptError",
    "InternalError",
    "MalformedError",
    "NotAStoreError",
    "NotFoundError",
    "Store",
    "StoreExistsError",
    "UsageError",
    "Verdict",
    "VerificationError",
    "library_version",
    "verify",
    "verify_many",
]
