"""genblaze integration: :class:`CairnSink`, a genblaze ``BaseSink`` that writes runs through Cairn.

Needs the ``genblaze`` extra (``pip install "cairn-store[genblaze]"``). With ``sink=CairnSink(path)``, a genblaze
pipeline's asset files (``file://`` URLs and local paths) go into Cairn's content-addressed store as each step
finishes, and each run's manifest goes into Cairn's ledger with its ``parent_run_id`` (what ``cairn import`` does),
so ``cairn lineage``, ``cairn made`` and ``cairn verify --store`` answer for it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from cairn.errors import CairnError
from cairn.store import PathLike, Store

try:
    from genblaze_core.exceptions import SinkError
    from genblaze_core.models.asset import Asset
    from genblaze_core.models.manifest import Manifest
    from genblaze_core.models.run import Run
    from genblaze_core.models.step import Step
    from genblaze_core.sinks.base import BaseSink
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'cairn.genblaze needs genblaze-core: pip install "cairn-store[genblaze]"'
    ) from exc

__all__ = ["CairnSink"]


def local_path(url: str) -> Path | None:
    """The local file an asset URL names (``file://`` URL, absolute or relative path), or None for other URLs."""
    if not isinstance(url, str) or not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return None
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(url)
    return None


class CairnSink(BaseSink):
    """A genblaze sink whose storage is a Cairn store and its ledger.

    - ``on_step_complete``: the step's output (and input) asset files are put in the store as soon as the step
      finishes; an asset without ``sha256`` gets the digest of its bytes, and without ``size_bytes`` their size.
    - ``write_run``: the remaining asset files are stored, the manifest's hash is recomputed (as genblaze's storage
      sinks do after filling in asset hashes) and the manifest is imported into the ledger, with its
      ``parent_run_id``, exactly as ``cairn import`` would: it must verify (every output asset with a sha256), or
      the sink raises genblaze's ``SinkError``. Sending the same run again appends nothing (idempotent).
    - ``put_asset``: stores a standalone asset's local file and fills in ``sha256`` and ``size_bytes``.

    Asset URLs are left as they are: the bytes are found in the store by their sha256. Remote (``https://``) assets
    are not fetched; they must already carry a sha256. The store must use sha256 digests (the default).

    The sink stays open across runs (genblaze does not close it); close it with :meth:`close` or ``with``.
    """

    _close_with_run = False

    def __init__(self, store_path: PathLike | Store, *, durability: str | None = None) -> None:
        if isinstance(store_path, Store):
            self.store = store_path
            self._owns_store = False
        else:
            self.store = Store(store_path, durability=durability)
            self._owns_store = True
        self._lock = threading.Lock()
        # (path, size, mtime_ns) -> digest hex: a file stored once is not hashed again by write_run.
        self._stored: dict[tuple[str, int, int], str] = {}

    # -- assets ------------------------------------------------------------------------------------------------

    def _store_file(self, path: Path) -> tuple[str, int]:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._stored.get(key)
        if known is not None:
            return known, stat.st_size
        digest = self.store.put(path)
        algorithm, _, hex_digest = digest.partition(":")
        if algorithm != "sha256":
            raise SinkError(f"CairnSink needs a sha256 store; {self.store.path} stores {algorithm} digests")
        with self._lock:
            self._stored[key] = hex_digest
        return hex_digest, stat.st_size

    def _store_asset(self, asset: Asset) -> bool:
        """Puts a local asset's bytes in the store, filling in sha256 and size_bytes; False for a remote asset."""
        path = local_path(asset.url)
        if path is None or not path.is_file():
            return False
        try:
            hex_digest, size = self._store_file(path)
        except CairnError as exc:
            raise SinkError(f"CairnSink: cannot store asset {asset.asset_id} ({asset.url}): {exc}") from exc
        if asset.sha256 is None:
            asset.sha256 = hex_digest
        elif asset.sha256 != hex_digest:
            raise SinkError(
                f"CairnSink: asset {asset.asset_id}: {path} hashes to sha256:{hex_digest}, "
                f"the asset declares sha256:{asset.sha256}"
            )
        if asset.size_bytes is None:
            asset.size_bytes = size
        return True

    def on_step_complete(self, step: Step, *, run_id: str, tenant_id: str | None, date_str: str) -> None:
        """Stores the finished step's asset files now, overlapping with the next step's generation."""
        for asset in [*step.inputs, *step.assets]:
            self._store_asset(asset)

    def put_asset(self, asset: Asset, *, manifest_uri: str | None = None, tenant_id: str | None = None) -> Asset:
        """Stores a standalone asset's local file (``file://`` or a path) and fills in ``sha256``/``size_bytes``."""
        if not self._store_asset(asset):
            raise SinkError(
                f"CairnSink.put_asset stores local files (file:// URLs or paths); {asset.url!r} is not one"
            )
        return asset

    def put_assets(
        self, assets: Any, *, manifest_uri: str | None = None, tenant_id: str | None = None
    ) -> list[Asset]:
        """:meth:`put_asset` for each asset, in order."""
        return [self.put_asset(a, manifest_uri=manifest_uri, tenant_id=tenant_id) for a in assets]

    # -- runs --------------------------------------------------------------------------------------------------

    def write_run(self, run: Run, manifest: Manifest) -> None:
        """Stores the run's asset files and imports its manifest into the ledger (nothing new when re-sent)."""
        for step in manifest.run.steps:
            for asset in [*step.inputs, *step.assets]:
                self._store_asset(asset)
        manifest.compute_hash()
        data = manifest.to_canonical_json().encode("utf-8")
        try:
            self.last_import = self.store.import_manifest(data, skip_existing=True)
        except CairnError as exc:
            raise SinkError(f"CairnSink: run {run.run_id} was not recorded: {exc}") from exc

    def close(self) -> None:
        """Closes the store (when the sink opened it). Idempotent."""
        if self._owns_store:
            self.store.close()
