"""Sandbox paths as the plugin accepts them: relative, with no way up or out.

The observer refuses such paths too; the plugin refuses them before forwarding anything,
so a request never leaves Airflow carrying one.
"""

from __future__ import annotations

from urllib.parse import quote, unquote


class BadSandboxPath(ValueError):
    """A path that would leave the sandbox (or is not a plain relative path)."""


def checked_path(path: str) -> str:
    """``path`` normalised (no empty or ``.`` parts), or BadSandboxPath naming why not.

    Paths arrive decoded once by the framework; they are decoded again here so that a
    doubly encoded ``%252e%252e`` is caught as well.
    """
    decoded = unquote(path)
    if "\x00" in decoded or "\\" in decoded:
        raise BadSandboxPath(f"sandbox path {path!r} holds a NUL or a backslash")
    if decoded.startswith("/") or path.startswith("/"):
        raise BadSandboxPath(f"sandbox path {path!r} is absolute: give it relative to the sandbox")
    parts = [part for part in decoded.split("/") if part not in ("", ".")]
    if ".." in parts or ".." in path.split("/"):
        raise BadSandboxPath(f"sandbox path {path!r} goes up with '..': it must stay inside")
    return "/".join(parts)


def quoted(path: str) -> str:
    """``path`` as URL path segments (each part quoted, the slashes kept)."""
    return quote(path, safe="/")


def parent_of(path: str) -> str | None:
    """The parent directory of a sandbox path (``""`` for the root), None for the root."""
    if not path:
        return None
    return path.rsplit("/", 1)[0] if "/" in path else ""
