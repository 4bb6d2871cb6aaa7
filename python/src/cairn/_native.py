"""The ctypes binding of libcairn.so (include/cairn.h): function signatures, status codes, and error raising.

Internal: use :mod:`cairn` instead. The library is the one bundled beside this file, or the one named by the
``CAIRN_LIBRARY`` environment variable.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char_p, c_int, c_long, c_size_t, c_uint64, c_void_p
from pathlib import Path

from cairn.errors import error_for

ABI_VERSION = 1
DIGEST_MAX = 80

OK = 0
E_BUFFER = 24

OPEN_CREATE = 1
VERIFY_HASH_ONLY = 1
VERIFY_REQUIRE_ASSETS = 2
IMPORT_SKIP_EXISTING = 1
LINEAGE_DESCENDANTS = 1


def _load() -> ctypes.CDLL:
    path = os.environ.get("CAIRN_LIBRARY") or str(Path(__file__).resolve().parent / "libcairn.so")
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise ImportError(
            f"cairn: cannot load {path} ({exc}); reinstall cairn-store, or set CAIRN_LIBRARY to a libcairn.so"
        ) from exc
    err = POINTER(c_void_p)
    out = POINTER(c_void_p)
    size = POINTER(c_size_t)
    signatures: dict[str, tuple[object, list[object]]] = {
        "cairn_abi_version": (c_int, []),
        "cairn_version": (c_char_p, []),
        "cairn_free": (None, [c_void_p]),
        "cairn_store_open": (c_int, [c_char_p, c_int, POINTER(c_void_p), err]),
        "cairn_store_close": (None, [c_void_p]),
        "cairn_store_set_durability": (c_int, [c_void_p, c_int, err]),
        "cairn_put_bytes": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, err]),
        "cairn_put_file": (c_int, [c_void_p, c_char_p, c_char_p, err]),
        "cairn_put_files": (c_int, [c_void_p, c_size_t, POINTER(c_char_p), c_int, c_char_p, err]),
        "cairn_has": (c_int, [c_void_p, c_char_p, POINTER(c_int), err]),
        "cairn_size": (c_int, [c_void_p, c_char_p, POINTER(c_uint64), err]),
        "cairn_get": (c_int, [c_void_p, c_char_p, out, size, err]),
        "cairn_reader_open": (c_int, [c_void_p, c_char_p, POINTER(c_void_p), err]),
        "cairn_reader_read": (c_int, [c_void_p, c_void_p, c_size_t, size, err]),
        "cairn_reader_close": (None, [c_void_p]),
        "cairn_verify": (c_int, [c_char_p, c_size_t, c_void_p, c_int, out, size, err]),
        "cairn_verify_compact": (c_int, [c_char_p, c_size_t, c_int, c_char_p, c_size_t, size, err]),
        "cairn_verify_many": (c_int, [c_size_t, POINTER(c_char_p), POINTER(c_size_t), c_int, c_char_p, c_size_t,
                                      size, err]),
        "cairn_import": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_int, out, size, err]),
        "cairn_lineage": (c_int, [c_void_p, c_char_p, c_int, out, size, err]),
        "cairn_made": (c_int, [c_void_p, c_char_p, out, size, err]),
        "cairn_used": (c_int, [c_void_p, c_char_p, out, size, err]),
        "cairn_log": (c_int, [c_void_p, c_long, out, size, err]),
        "cairn_manifest": (c_int, [c_void_p, c_char_p, out, size, err]),
        "cairn_ledger_verify": (c_int, [c_void_p, out, size, err]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    found = lib.cairn_abi_version()
    if found != ABI_VERSION:
        raise ImportError(f"cairn: {path} has C ABI version {found}; this package needs {ABI_VERSION}")
    return lib


lib = _load()


def take_message(err: c_void_p) -> str:
    """The message a failed call left in ``err`` (freed here)."""
    if not err.value:
        return "(no message)"
    try:
        return ctypes.string_at(err.value).decode("utf-8", "replace")
    finally:
        lib.cairn_free(err)


def check(status: int, err: c_void_p) -> None:
    """Raises the :class:`cairn.CairnError` subclass for ``status`` (with the library's message) unless it is OK."""
    if status != OK:
        raise error_for(status, take_message(err))


def take_buffer(out: c_void_p, length: c_size_t) -> bytes:
    """The bytes of a library-owned buffer (freed here)."""
    if not out.value:
        return b""
    try:
        return ctypes.string_at(out.value, length.value)
    finally:
        lib.cairn_free(out)
