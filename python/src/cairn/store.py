"""Store, verified reads, ledger queries and manifest verification over libcairn.so."""

from __future__ import annotations

import ctypes
import io
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from ctypes import byref, c_char_p, c_int, c_size_t, c_uint64, c_void_p
from typing import Any, NamedTuple, Union

from cairn import _native
from cairn._native import lib
from cairn.errors import CairnIOError, CairnTypeError, ClosedError, UsageError

PathLike = Union[str, "os.PathLike[str]"]
BytesLike = Union[bytes, bytearray, memoryview]

_DURABILITY = {None: 0, "object": 1, "batch": 2, "none": 3}


def _path(value: object, what: str = "path") -> bytes:
    """A filesystem path as the bytes the C ABI takes (UTF-8)."""
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        if "\0" in text:
            raise UsageError(f"{what} contains a NUL character: {text!r}")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(f"{what} is not valid UTF-8: {text!r}") from exc
    raise CairnTypeError(f"{what} must be a str or os.PathLike, not {type(value).__name__}")


def _text(value: object, what: str) -> bytes:
    """A digest or run id as NUL-free UTF-8 bytes."""
    if not isinstance(value, str):
        raise CairnTypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise UsageError(f"{what} contains a NUL character: {value!r}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"{what} is not valid UTF-8: {value!r}") from exc


def _bytes(value: object, what: str = "data") -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise CairnTypeError(f"{what} must be bytes, bytearray or memoryview, not {type(value).__name__}")


class Verdict(NamedTuple):
    """genblaze's verdict on a manifest (the fields of its ``verification_report()`` and ``cairn verify --json``).

    ``ok`` is genblaze's ``Manifest.verify()``; ``hash_ok`` its ``verify_hash()``; ``error`` is set (``"Kind:
    message"``) when the file is refused (not JSON, not a manifest). ``assets`` lists asset byte checks when the
    verdict was taken against a store (:meth:`Store.verify`), else is empty.
    """

    outcome: str
    hash_ok: bool
    verify_ok: bool
    schema_version: str | None
    stored_hash: str | None
    canonical_hash: str | None
    unverified_sha256_ids: tuple[str, ...]
    invalid_metadata_ids: tuple[str, ...]
    error: str | None
    assets: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        """Every check passed (genblaze's ``Manifest.verify()``)."""
        return self.outcome == "verified"

    @property
    def recomputed_hash(self) -> str | None:
        """genblaze's name for :attr:`canonical_hash`: the hash recomputed from the file."""
        return self.canonical_hash

    @property
    def exit_code(self) -> int:
        """What ``cairn verify`` exits with for this file: 0 verified, 1 failed a check, 2 refused."""
        return {"verified": 0, "failed": 1}.get(self.outcome, 2)


_OUTCOMES = {"v": "verified", "f": "failed", "r": "refused"}


_new_verdict = tuple.__new__
_NONE = "\x15"


def _compact(record: str) -> Verdict:
    """A verdict from its compact text (spec/c-abi.md): nine fields split on 0x1F."""
    o, h, v, schema, stored, canonical, unverified, invalid, error = record.split("\x1f")
    return _new_verdict(
        Verdict,
        (
            _OUTCOMES[o],
            h == "1",
            v == "1",
            None if schema == _NONE else schema,
            None if stored == _NONE else stored,
            None if canonical == _NONE else canonical,
            tuple(unverified.split("\x1e")) if unverified else (),
            tuple(invalid.split("\x1e")) if invalid else (),
            None if error == _NONE else error,
            (),
        ),
    )


def _from_json(fields: dict[str, Any]) -> Verdict:
    error = fields.get("error")
    outcome = fields["outcome"]
    return Verdict(
        outcome,
        bool(fields["hash_ok"]),
        bool(fields["verify_ok"]),
        fields.get("schema_version"),
        fields.get("stored_hash"),
        fields.get("canonical_hash"),
        tuple(fields.get("unverified_sha256_ids", ())),
        tuple(fields.get("invalid_metadata_ids", ())),
        error,
        tuple(fields.get("assets", ())),
    )


def _manifest_bytes(manifest: object) -> bytes:
    """Manifest bytes from bytes, or from the file at a path."""
    if isinstance(manifest, bytes):
        return manifest
    if isinstance(manifest, (bytearray, memoryview)):
        return bytes(manifest)
    if isinstance(manifest, (str, os.PathLike)):
        path = _path(manifest, "manifest").decode("utf-8")
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise CairnIOError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    raise CairnTypeError(f"manifest must be bytes or a path, not {type(manifest).__name__}")


class _CallState(threading.local):
    """Per-thread reusable ctypes objects for the verify calls (no allocation per call)."""

    def __init__(self) -> None:
        self.resize(4096)
        self.length = c_size_t()
        self.err = c_void_p()
        self.length_ref = byref(self.length)
        self.err_ref = byref(self.err)

    def resize(self, size: int) -> None:
        self.buffer = ctypes.create_string_buffer(max(size, 4096))
        self.capacity = len(self.buffer)


_state = _CallState()
_verify_compact = lib.cairn_verify_compact
_verify_many = lib.cairn_verify_many


def verify(manifest: bytes | PathLike, *, hash_only: bool = False) -> Verdict:
    """genblaze's verdict on a manifest (bytes, or the path of a manifest file), offline.

    A manifest that fails a check or is refused is a :class:`Verdict`, not an exception; only a wrong argument or an
    unreadable file raises.
    """
    data = manifest if type(manifest) is bytes else _manifest_bytes(manifest)
    st = _state
    status = _verify_compact(data, len(data), 1 if hash_only else 0, st.buffer, st.capacity, st.length_ref, st.err_ref)
    if status:
        if status != _native.E_BUFFER:
            _native.check(status, st.err)
        lib.cairn_free(st.err)
        st.resize(st.length.value)
        status = _verify_compact(
            data, len(data), 1 if hash_only else 0, st.buffer, st.capacity, st.length_ref, st.err_ref
        )
        _native.check(status, st.err)
    return _compact(st.buffer[: st.length.value].decode("utf-8"))


def verify_many(manifests: Iterable[bytes | PathLike], *, hash_only: bool = False) -> list[Verdict]:
    """Verdicts on many manifests in one call into the library (the fastest way to check many)."""
    datas = [m if type(m) is bytes else _manifest_bytes(m) for m in manifests]
    count = len(datas)
    if count == 0:
        return []
    pointers = (c_char_p * count)(*datas)
    lengths = (c_size_t * count)(*map(len, datas))
    st = _state
    if st.capacity < count * 256:
        st.resize(count * 256)
    flags = 1 if hash_only else 0
    status = _verify_many(count, pointers, lengths, flags, st.buffer, st.capacity, st.length_ref, st.err_ref)
    if status:
        if status != _native.E_BUFFER:
            _native.check(status, st.err)
        lib.cairn_free(st.err)
        st.resize(st.length.value)
        status = _verify_many(count, pointers, lengths, flags, st.buffer, st.capacity, st.length_ref, st.err_ref)
        _native.check(status, st.err)
    return [_compact(record) for record in st.buffer[: st.length.value].decode("utf-8").split("\x1d")]


class Store:
    """A Cairn store (its objects and its ledger), opened, or created when absent (``create=True``).

    A ``Store`` may be used from many threads at once. Close it with :meth:`close` (or use it as a context
    manager); any call after that raises :class:`cairn.ClosedError`.

    ``durability`` overrides the store's durability for puts through this object: ``"object"`` (each object durable
    before ``put`` returns), ``"batch"``, or ``"none"`` (no syncs); ``None`` keeps the store's own.
    """

    def __init__(self, path: PathLike, *, create: bool = True, durability: str | None = None) -> None:
        self._handle: int | None = None
        self._lock = threading.Condition()
        self._active = 0
        self.path = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
        encoded = _path(path)
        if durability not in _DURABILITY:
            raise UsageError(f"durability must be one of object, batch, none or None, not {durability!r}")
        handle = c_void_p()
        err = c_void_p()
        _native.check(lib.cairn_store_open(encoded, 1 if create else 0, byref(handle), byref(err)), err)
        self._handle = handle.value
        if durability is not None:
            with self._use() as h:
                _native.check(lib.cairn_store_set_durability(h, _DURABILITY[durability], byref(err)), err)

    # -- lifecycle ---------------------------------------------------------------------------------------------

    @contextmanager
    def _use(self) -> Iterator[int]:
        with self._lock:
            if self._handle is None:
                raise ClosedError(f"the store {self.path} is closed")
            self._active += 1
            handle = self._handle
        try:
            yield handle
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._lock.notify_all()

    def close(self) -> None:
        """Closes the store (waiting for calls in flight on other threads). Closing twice is allowed."""
        with self._lock:
            handle, self._handle = self._handle, None
            while self._active:
                self._lock.wait()
        if handle is not None:
            lib.cairn_store_close(handle)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._handle is None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            lib.cairn_store_close(handle)

    def __repr__(self) -> str:
        return f"Store({self.path!r}{', closed' if self.closed else ''})"

    # -- objects -----------------------------------------------------------------------------------------------

    def put(self, data: BytesLike | PathLike) -> str:
        """Stores bytes, or the file at a path (streamed), and returns the digest (``sha256:<hex>``)."""
        digest = ctypes.create_string_buffer(_native.DIGEST_MAX)
        err = c_void_p()
        if isinstance(data, (bytes, bytearray, memoryview)):
            raw = _bytes(data)
            with self._use() as h:
                status = lib.cairn_put_bytes(h, raw, len(raw), digest, byref(err))
        else:
            path = _path(data, "data")
            with self._use() as h:
                status = lib.cairn_put_file(h, path, digest, byref(err))
        _native.check(status, err)
        return digest.value.decode("ascii")

    def put_many(self, items: Iterable[BytesLike | PathLike], *, jobs: int = 4) -> list[str]:
        """Stores many inputs (bytes or paths) and returns their digests in order, ``jobs`` at once (as ``cairn put
        --jobs``). When every input is a path, every file is checked to be readable before anything is stored."""
        items = list(items)
        if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
            raise UsageError(f"jobs must be an int >= 1, not {jobs!r}")
        if items and all(isinstance(i, (str, os.PathLike)) for i in items):
            paths = [_path(i) for i in items]
            array = (c_char_p * len(paths))(*paths)
            out = ctypes.create_string_buffer(_native.DIGEST_MAX * len(paths))
            err = c_void_p()
            with self._use() as h:
                status = lib.cairn_put_files(h, len(paths), array, jobs, out, byref(err))
            _native.check(status, err)
            raw = out.raw
            m = _native.DIGEST_MAX
            return [raw[i * m : raw.index(b"\0", i * m)].decode("ascii") for i in range(len(paths))]
        if jobs == 1 or len(items) < 2:
            return [self.put(i) for i in items]
        # Calls into the library release the GIL: with object durability, threads overlap the puts' fsyncs.
        with ThreadPoolExecutor(min(jobs, len(items))) as pool:
            return list(pool.map(self.put, items))

    def has(self, digest: str) -> bool:
        """True when the object is in the store."""
        text = _text(digest, "digest")
        present = c_int()
        err = c_void_p()
        with self._use() as h:
            status = lib.cairn_has(h, text, byref(present), byref(err))
        _native.check(status, err)
        return bool(present.value)

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and self.has(digest)

    def size(self, digest: str) -> int:
        """The object's size in bytes (:class:`cairn.NotFoundError` when absent)."""
        text = _text(digest, "digest")
        size = c_uint64()
        err = c_void_p()
        with self._use() as h:
            status = lib.cairn_size(h, text, byref(size), byref(err))
        _native.check(status, err)
        return size.value

    def get(self, digest: str) -> bytes:
        """The object's bytes, verified against the digest (:class:`cairn.CorruptError` when they do not match)."""
        text = _text(digest, "digest")
        out = c_void_p()
        length = c_size_t()
        err = c_void_p()
        with self._use() as h:
            status = lib.cairn_get(h, text, byref(out), byref(length), byref(err))
        _native.check(status, err)
        return _native.take_buffer(out, length)

    def open(self, digest: str) -> io.BufferedReader:
        """A read-only binary file of the object. Bytes are checked as they stream: reaching the end raises
        :class:`cairn.CorruptError` when they do not match the digest."""
        text = _text(digest, "digest")
        reader = c_void_p()
        err = c_void_p()
        with self._use() as h:
            status = lib.cairn_reader_open(h, text, byref(reader), byref(err))
        _native.check(status, err)
        return io.BufferedReader(_ObjectReader(reader.value, digest), buffer_size=1 << 20)

    # -- ledger ------------------------------------------------------------------------------------------------

    def _json(self, call: Any, *args: Any) -> Any:
        out = c_void_p()
        length = c_size_t()
        err = c_void_p()
        with self._use() as h:
            status = call(h, *args, byref(out), byref(length), byref(err))
        _native.check(status, err)
        return json.loads(_native.take_buffer(out, length))

    def import_manifest(
        self, manifest: bytes | PathLike, *, assets: PathLike | None = None, skip_existing: bool = False
    ) -> dict[str, Any]:
        """Verifies a genblaze manifest and appends it to the ledger, as ``cairn import [--assets DIR]`` does.

        With ``skip_existing``, a run already in the ledger with the same canonical hash is not appended again
        (``already_present`` is true). Raises :class:`cairn.VerificationError` when it does not verify and
        :class:`cairn.MalformedError` when it is not a manifest; nothing is appended then.
        """
        data = _manifest_bytes(manifest)
        directory = None if assets is None else _path(assets, "assets")
        flags = _native.IMPORT_SKIP_EXISTING if skip_existing else 0
        result: dict[str, Any] = self._json(lib.cairn_import, data, len(data), directory, flags)
        return result

    def lineage(self, run_id: str, *, descendants: bool = False) -> dict[str, Any]:
        """``{"run": ..., "ancestors": [...]}`` (``cairn lineage --json``), or with ``descendants`` the tree of runs
        chained from it. :class:`cairn.NotFoundError` when the ledger has no manifest for the run."""
        flags = _native.LINEAGE_DESCENDANTS if descendants else 0
        result: dict[str, Any] = self._json(lib.cairn_lineage, _text(run_id, "run_id"), flags)
        return result

    def made(self, digest: str) -> list[dict[str, Any]]:
        """The runs (and steps) that produced the object (``cairn made --json``); empty when none."""
        result: list[dict[str, Any]] = self._json(lib.cairn_made, _text(digest, "digest"))
        return result

    def used(self, digest: str) -> list[dict[str, Any]]:
        """The runs (and steps) that consumed the object (``cairn used --json``); empty when none."""
        result: list[dict[str, Any]] = self._json(lib.cairn_used, _text(digest, "digest"))
        return result

    def log(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The runs in the ledger, newest first (``cairn log --json``)."""
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise UsageError(f"limit must be None or an int >= 0, not {limit!r}")
        result: list[dict[str, Any]] = self._json(lib.cairn_log, -1 if limit is None else limit)
        return result

    def manifest(self, run_id: str) -> bytes:
        """The manifest file the ledger holds for a run (:class:`cairn.NotFoundError` when none)."""
        out = c_void_p()
        length = c_size_t()
        err = c_void_p()
        text = _text(run_id, "run_id")
        with self._use() as h:
            status = lib.cairn_manifest(h, text, byref(out), byref(length), byref(err))
        _native.check(status, err)
        return _native.take_buffer(out, length)

    def verify_ledger(self) -> dict[str, Any]:
        """``cairn ledger verify --json``'s report: ``ok``, ``entries``, ``root_hash``, ``problems``..."""
        result: dict[str, Any] = self._json(lib.cairn_ledger_verify)
        return result

    def verify(self, manifest: bytes | PathLike, *, require_assets: bool = False) -> Verdict:
        """genblaze's verdict on a manifest, with its asset bytes looked up and rehashed in this store (as ``cairn
        verify --store``; with ``require_assets``, an asset the store lacks is a failure)."""
        data = _manifest_bytes(manifest)
        flags = _native.VERIFY_REQUIRE_ASSETS if require_assets else 0
        return _from_json(self._json(_store_verify, data, len(data), flags))


def _store_verify(handle: int, data: bytes, length: int, flags: int, *rest: Any) -> int:
    return int(lib.cairn_verify(data, length, handle, flags, *rest))


class _ObjectReader(io.RawIOBase):
    """The raw stream of :meth:`Store.open`."""

    def __init__(self, handle: int | None, digest: str) -> None:
        super().__init__()
        self._reader = handle
        self._digest = digest
        self._lock = threading.Lock()
        self.name = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._lock:
            if self._reader is None:
                raise ClosedError(f"the reader of {self._digest} is closed")
            view = memoryview(buffer).cast("B")
            if len(view) == 0:
                return 0
            target = (ctypes.c_char * len(view)).from_buffer(view)
            length = c_size_t()
            err = c_void_p()
            status = lib.cairn_reader_read(self._reader, target, len(view), byref(length), byref(err))
            _native.check(status, err)
            return length.value

    def close(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            lib.cairn_reader_close(reader)
        super().close()

    def __del__(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            self._reader = None
            lib.cairn_reader_close(reader)
