"""Cairn's exceptions: one base, :class:`CairnError`, and one subclass per status code of include/cairn.h.

``code`` is the C ABI's status code; ``exit_code`` (``code // 10``) is what the ``cairn`` command exits with for the
same failure: 1 when the call ran and found a problem (absent, corrupt, does not verify), 2 for bad arguments,
malformed input, or a call that could not run.
"""

from __future__ import annotations


class CairnError(Exception):
    """A Cairn call failed. ``code`` is the C ABI status, ``exit_code`` the CLI's exit code for it."""

    code: int = 29

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    @property
    def exit_code(self) -> int:
        """The ``cairn`` CLI's exit code for this failure (1 or 2)."""
        return self.code // 10


class NotFoundError(CairnError, LookupError):
    """No such object, or no manifest for the run (CLI exit 1)."""

    code = 10


class CorruptError(CairnError):
    """An object's bytes do not match its digest (CLI exit 1)."""

    code = 11


class VerificationError(CairnError):
    """A manifest that does not verify, or a corrupt ledger (CLI exit 1)."""

    code = 12


class UsageError(CairnError, ValueError):
    """A bad argument: an invalid digest, an unknown option, a closed store (CLI exit 2)."""

    code = 20


class CairnTypeError(UsageError, TypeError):
    """An argument of the wrong type (CLI exit 2)."""


class ClosedError(UsageError):
    """The store (or reader) was closed (CLI exit 2)."""


class MalformedError(CairnError, ValueError):
    """Input that is not what it should be: not a manifest, a directory, a malformed store (CLI exit 2)."""

    code = 21


class CairnIOError(CairnError, OSError):
    """The filesystem refused (CLI exit 2)."""

    code = 22


class NotAStoreError(CairnError):
    """No store at the path (CLI exit 2)."""

    code = 23


class BufferTooSmallError(CairnError):
    """Internal: a result did not fit the buffer given (retried by the binding)."""

    code = 24


class StoreExistsError(CairnError):
    """A store is already there (CLI exit 2)."""

    code = 25


class InternalError(CairnError):
    """Anything else: a bug in Cairn (CLI exit 2)."""

    code = 29


_BY_CODE: dict[int, type[CairnError]] = {
    cls.code: cls
    for cls in (
        NotFoundError,
        CorruptError,
        VerificationError,
        UsageError,
        MalformedError,
        CairnIOError,
        NotAStoreError,
        BufferTooSmallError,
        StoreExistsError,
        InternalError,
    )
}


def error_for(code: int, message: str) -> CairnError:
    """The exception for a C ABI status code."""
    error = _BY_CODE.get(code, InternalError)(message)
    error.code = code
    return error
