"""Jinja's compiled templates kept in the user's cache (usercache.py), for the template sets (render.py)
and the run contract's templates (contract.py).

Compiling a template is most of rendering it; from the cache a run only loads it. An entry is found by
the template's name (and path) and read only while its source is unchanged (Jinja checks a checksum of
the source and its own version). A cache folder that cannot be made or written is skipped: the run
compiles, as it would without one.
"""

from __future__ import annotations

import hashlib

import jinja2
import jinja2.bccache

from .usercache import user_cache


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """`salt` sets entries apart whose name alone does not say how they compile (the environment's settings)."""

    def __init__(self, salt: str = "") -> None:
        folder = user_cache("templates")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        super().__init__(str(folder))
        self.salt = salt

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        key = super().get_cache_key(name, filename)
        return hashlib.sha1(f"{self.salt}\0{key}".encode()).hexdigest() if self.salt else key

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass
