"""Reference store: visual references (characters, places, looks) in Chroma, searchable by text.

One shared brand library collection plus one collection per project. Each entry is one stored
image; its document is "name: description" (what gets embedded) and its metadata holds kind, name,
project, file hash, path and thumbnail. Embedded `PersistentClient` under the data dir by default;
a server URL (configuration from the edge) switches to `HttpClient`, which is the safe choice when
several processes share references (PersistentClient is single-process).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args
from urllib.parse import urlsplit

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from memory.embeddings import Embedder, MiniLMEmbeddingFunction, chroma_settings
from memory.models import Reference

RefKind = Reference.model_fields["kind"].annotation
KINDS: tuple[str, ...] = get_args(RefKind)
LIBRARY = "library"
_clients: dict[str, ClientAPI] = {}


class RefStoreError(RuntimeError):
    pass


@dataclass(frozen=True)
class Hit:
    reference: Reference
    similarity: float  # cosine similarity in [-1, 1]


def _client(path: Path | None, url: str | None) -> ClientAPI:
    """One client per path or URL per process (two PersistentClients on one path corrupt it)."""
    key = url or str(path)
    if key not in _clients:
        if url:
            parts = urlsplit(url if "://" in url else f"http://{url}")
            if not parts.hostname:
                raise RefStoreError(f"REELFORGE_CHROMA_URL {url!r} has no host")
            _clients[key] = chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=chroma_settings(),
            )
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            _clients[key] = chromadb.PersistentClient(path=str(path), settings=chroma_settings())
    return _clients[key]


def collection_name(project: str | None, tag: str = "minilm") -> str:
    """A valid Chroma collection name for the library or a project (and the embedder)."""
    if project is None:
        return f"refs-{LIBRARY}-{tag}"
    slug = re.sub(r"[^a-z0-9]+", "-", project.lower()).strip("-")[:40] or "p"
    digest = hashlib.sha256(project.encode()).hexdigest()[:8]
    return f"refs-p-{slug}-{digest}-{tag}"


def reference_id(name: str, sha256: str) -> str:
    """Readable and content-derived: `mia-3f2a9c1d`."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30] or "ref"
    return f"{slug}-{sha256[:8]}"


def document(ref: Reference) -> str:
    """The text that is embedded: the name carries as much meaning as the description."""
    return f"{ref.name}: {ref.description}" if ref.description else ref.name


def _metadata(ref: Reference) -> dict[str, str | int | float | bool]:
    return {
        "kind": ref.kind,
        "name": ref.name,
        "name_lc": ref.name.lower(),
        "description": ref.description,
        "project": ref.project_id or "",
        "sha256": ref.sha256 or "",
        "path": str(ref.file) if ref.file else "",
        "thumbnail": str(ref.thumbnail) if ref.thumbnail else "",
    }


def _reference(ref_id: str, meta: Any) -> Reference:
    m = cast(dict[str, Any], meta)
    return Reference(
        id=ref_id,
        kind=m["kind"],
        name=m["name"],
        description=m.get("description", ""),
        file=Path(m["path"]) if m.get("path") else None,
        sha256=m.get("sha256") or None,
        project_id=m.get("project") or None,
        thumbnail=Path(m["thumbnail"]) if m.get("thumbnail") else None,
    )


class RefStore:
    """References in Chroma. `project=None` everywhere means the shared library."""

    def __init__(self, client: ClientAPI, embedder: Embedder | None = None, tag: str = "minilm"):
        self.client = client
        self.tag = tag
        self._ef = MiniLMEmbeddingFunction(embedder, tag)
        self._collections: dict[str | None, Collection] = {}

    @classmethod
    def open(
        cls,
        data_dir: Path,
        url: str | None = None,
        embedder: Embedder | None = None,
        tag: str = "minilm",
    ) -> RefStore:
        """Embedded in `<data_dir>/chroma`, or the Chroma server at `url`."""
        return cls(_client(data_dir / "chroma", url), embedder, tag)

    def _col(self, project: str | None) -> Collection:
        if project not in self._collections:
            self._collections[project] = self.client.get_or_create_collection(
                collection_name(project, self.tag),
                embedding_function=self._ef,  # type: ignore[arg-type]
                metadata={"hnsw:space": "cosine", "project": project or ""},
            )
        return self._collections[project]

    def _scopes(self, project: str | None) -> list[str | None]:
        return [project, None] if project is not None else [None]

    # -- writing ----------------------------------------------------------------------------

    def add(self, ref: Reference) -> Reference:
        """Store `ref` in its project's collection (or the library). Idempotent by id."""
        self._col(ref.project_id).upsert(
            ids=[ref.id], documents=[document(ref)], metadatas=[_metadata(ref)]
        )
        return ref

    def add_many(
        self,
        refs: list[Reference],
        batch: int = 1000,
        embeddings: Sequence[Sequence[float]] | None = None,
    ) -> None:
        """Store many references; `embeddings` (same order) skips embedding, e.g. in benches."""
        vectors = dict(zip((r.id for r in refs), embeddings, strict=True)) if embeddings else {}
        by_scope: dict[str | None, list[Reference]] = {}
        for ref in refs:
            by_scope.setdefault(ref.project_id, []).append(ref)
        for scope, items in by_scope.items():
            col = self._col(scope)
            for i in range(0, len(items), batch):
                part = items[i : i + batch]
                col.upsert(
                    ids=[r.id for r in part],
                    documents=[document(r) for r in part],
                    metadatas=[_metadata(r) for r in part],
                    embeddings=[vectors[r.id] for r in part] if vectors else None,
                )

    def delete(self, ref_id: str, project: str | None = None) -> None:
        self._col(project).delete(ids=[ref_id])

    # -- reading ----------------------------------------------------------------------------

    def count(self, project: str | None = None) -> int:
        return self._col(project).count()

    def by_hash(self, sha256: str, project: str | None = None) -> Reference | None:
        """The entry holding this exact image in this scope (library or one project)."""
        got = self._col(project).get(where={"sha256": sha256}, limit=1, include=["metadatas"])
        metas = got["metadatas"] or []
        return _reference(got["ids"][0], metas[0]) if got["ids"] else None

    def get(self, ids: Iterable[str], project: str | None = None) -> list[Reference]:
        """References by id, from the project first then the library, in the order asked."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Reference] = {}
        for scope in self._scopes(project):
            missing = [i for i in wanted if i not in found]
            if not missing:
                break
            got = self._col(scope).get(ids=missing, include=["metadatas"])
            for ref_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                found[ref_id] = _reference(ref_id, meta)
        return [found[i] for i in wanted if i in found]

    def entries(self, project: str | None = None, *, with_library: bool = False) -> list[Reference]:
        """A project's references (plus the library's if asked), or the library's."""
        scopes = self._scopes(project) if with_library else [project]
        out: list[Reference] = []
        for scope in scopes:
            got = self._col(scope).get(include=["metadatas"])
            out += [
                _reference(i, m) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            ]
        return sorted(out, key=lambda r: (r.project_id is None, r.kind, r.name.lower(), r.id))

    def by_name(self, name: str, project: str | None = None) -> list[Reference]:
        """Exact (case-insensitive) name matches, the project's before the library's."""
        out: list[Reference] = []
        for scope in self._scopes(project):
            got = self._col(scope).get(where={"name_lc": name.lower()}, include=["metadatas"])
            out += [
                _reference(i, m) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            ]
        return out

    def names(self, project: str | None = None) -> dict[str, list[Reference]]:
        """Every reference name (lower-cased) in the project and the library."""
        out: dict[str, list[Reference]] = {}
        for ref in self.entries(project, with_library=project is not None):
            out.setdefault(ref.name.lower(), []).append(ref)
        return out

    def search(
        self, text: str, project: str | None = None, k: int = 5, kind: str | None = None
    ) -> list[Hit]:
        """References ranked by meaning, over the project and the library together."""
        if not text.strip():
            return []
        query_vec = self._ef.embed_query([text])
        hits: list[Hit] = []
        for scope in self._scopes(project):
            col = self._col(scope)
            n = min(k, col.count())
            if n == 0:
                continue
            res = col.query(
                query_embeddings=query_vec,
                n_results=n,
                where={"kind": kind} if kind else None,
                include=["metadatas", "distances"],
            )
            metas = (res["metadatas"] or [[]])[0]
            dists = (res["distances"] or [[]])[0]
            for ref_id, meta, dist in zip(res["ids"][0], metas, dists, strict=True):
                hits.append(Hit(_reference(ref_id, meta), 1.0 - float(dist)))
        return sorted(hits, key=lambda h: -h.similarity)[:k]
