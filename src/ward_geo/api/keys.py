"""API keys: created once, stored only as hashes, checked in constant time.

A key looks like ``wgk_<id>_<secret>``: ``id`` is 8 hex digits that name the key in
listings and logs, ``secret`` is 32 random bytes (URL-safe base64). The key file holds
the id, the role, a label, timestamps and the SHA-256 of the whole key — never the key,
so a leaked key file does not leak keys (the secret has 256 bits of entropy, so an
unsalted hash cannot be brute-forced).

Roles are ordered: ``viewer`` (aggregates: hotspots, maps, patrol plans) <
``analyst`` (also individual incident points) < ``admin`` (also ingest).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ward_geo.errors import AuthenticationError, ConfigurationError, NotFoundError, ParameterError

__all__ = ["ROLES", "ApiKey", "KeyStore", "role_allows"]

ROLES: tuple[str, ...] = ("viewer", "analyst", "admin")
_PREFIX = "wgk"


def role_allows(role: str, required: str) -> bool:
    """True when ``role`` is at least as strong as ``required``."""
    return ROLES.index(role) >= ROLES.index(required)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """One stored API key (without the secret)."""

    key_id: str
    role: str
    sha256: str
    label: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        """Whether the key has not been revoked."""
        return self.revoked_at is None

    def public(self) -> dict[str, object]:
        """The fields safe to show (no hash)."""
        return {
            "key_id": self.key_id,
            "role": self.role,
            "label": self.label,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "active": self.active,
        }


class KeyStore:
    """The API key file (JSON, mode 0600), safe against concurrent writers.

    Parameters
    ----------
    path : Path
        The key file; created on the first :meth:`create`.

    Notes
    -----
    Writers take an exclusive ``flock`` on ``<path>.lock`` and replace the file
    atomically; readers reload whenever the file's modification time or size changes,
    so keys created or revoked with the CLI take effect in a running server at once.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    # ---------------------------------------------------------------- reading
    def _read_file(self) -> dict[str, ApiKey]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"the API key file {self.path} cannot be read: {exc}") from exc
        return {item["key_id"]: ApiKey(**item) for item in raw.get("keys", [])}

    def _current(self) -> dict[str, ApiKey]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except (FileNotFoundError, NotADirectoryError):
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._keys = self._read_file() if stamp is not None else {}
                self._stamp = stamp
            return self._keys

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        return sorted(self._current().values(), key=lambda k: (k.created_at, k.key_id))

    def active_count(self) -> int:
        """Number of keys that are not revoked."""
        return sum(1 for k in self._current().values() if k.active)

    def verify(self, presented: str) -> ApiKey:
        """Return the active key matching ``presented``.

        Raises
        ------
        AuthenticationError
            When the key is malformed, unknown or revoked (one message for all three,
            so a caller cannot probe which ids exist).
        """
        parts = presented.split("_", 2)
        if len(parts) == 3 and parts[0] == _PREFIX:
            key = self._current().get(parts[1])
            if key is not None and key.active and hmac.compare_digest(key.sha256, _hash(presented)):
                return key
        raise AuthenticationError("the API key is not valid (unknown, revoked or malformed)")

    # ---------------------------------------------------------------- writing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, ApiKey]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            keys = self._read_file()
            yield keys
            self._write(keys)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _write(self, keys: dict[str, ApiKey]) -> None:
        payload = {"version": 1, "keys": [asdict(k) for k in sorted(keys.values(), key=lambda k: k.created_at)]}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)

    def create(self, role: str, *, label: str = "") -> tuple[str, ApiKey]:
        """Create a key; return ``(key, record)``. The key is shown only here.

        Raises
        ------
        ParameterError
            When ``role`` is not one of :data:`ROLES`.
        """
        if role not in ROLES:
            raise ParameterError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        with self._locked() as keys:
            key_id = secrets.token_hex(4)
            while key_id in keys:
                key_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            token = f"{_PREFIX}_{key_id}_{secret}"
            record = ApiKey(
                key_id=key_id,
                role=role,
                sha256=_hash(token),
                label=label,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            keys[key_id] = record
        return token, record

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by id (idempotent); raise NotFoundError for an unknown id."""
        with self._locked() as keys:
            key = keys.get(key_id)
            if key is None:
                raise NotFoundError(f"no API key with id {key_id!r}; `ward-geo keys list` shows the ids")
            if key.active:
                key = ApiKey(**{**asdict(key), "revoked_at": datetime.now(UTC).isoformat(timespec="seconds")})
                keys[key_id] = key
        return key
