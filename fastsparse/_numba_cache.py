"""Keep Numba's on-disk cache of fastsparse's kernels consistent across source changes.

Numba stamps a cached function with a hash of the one file that defines it. A kernel
whose own file is unchanged therefore loads from the cache even when a jitted function
it calls, defined in another file, has changed: the cached machine code still holds the
old callee, compiled against the old argument layout. In this package that crashed the
process (a segfault, twice in development, after functions moved between ``_kernels``
and ``_sparse_ops`` and after a one-file change in ``_krylov_dual``). A user who
upgrades fastsparse in place keeps the old ``.nbi``/``.nbc`` files in the package's
``__pycache__`` (pip does not remove files it did not install), so the same crash could
reach users.

The fix: a cache locator that wraps whichever locator Numba would have used (same cache
directory, same file names) and adds to its source stamp a digest of every source file
of the package that uses Numba. Any change to any of them invalidates the cache of every
kernel of the package, and the next call recompiles. The digest is computed once per
process.

Rule this relies on: jitted code may only call jitted functions, and read module-level
constants, from modules of the package that import Numba (the files hashed here); a
constant read from any other module would be frozen into the cached code unnoticed.

Numba's locator machinery is internal (``numba.core.caching``); :func:`install` looks up
what it needs by its names in Numba 0.59 to 0.68 and, if they are missing, leaves
Numba's own behaviour in place with a warning rather than failing the import.
"""

import hashlib
import os
import warnings
from functools import lru_cache
from pathlib import Path

from numba.core import caching

__all__ = ["install", "package_source_digest"]

# Numba 0.68 renamed ``_CacheImpl`` to ``CacheImpl``; ``_CacheLocator`` kept its name.
_CACHE_IMPL = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
_LOCATOR_BASE = (getattr(caching, "_CacheLocator", None)
                 or getattr(caching, "CacheLocator", None))

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@lru_cache(maxsize=None)
def package_source_digest(package_dir=PACKAGE_DIR):
    """Digest of every ``.py`` file under ``package_dir`` that mentions Numba.

    Parameters
    ----------
    package_dir : str, default=the fastsparse package
        Directory searched recursively.

    Returns
    -------
    digest : str
        SHA-256 over the sorted relative paths and contents of those files. Computed
        once per process and directory.
    """
    h = hashlib.sha256()
    for root, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                source = f.read()
            if b"numba" in source:
                h.update(os.path.relpath(path, package_dir).encode())
                h.update(b"\0")
                h.update(source)
                h.update(b"\0")
    return h.hexdigest()


def _is_under(path, directory):
    """Whether ``path`` is ``directory`` or lies below it.

    ``Path.is_relative_to``, not ``os.path.commonpath``: the locator sees the file of
    every cached function of every package, and commonpath raises ValueError for paths
    on different Windows drives.
    """
    return Path(path).resolve().is_relative_to(Path(directory).resolve())


def _make_locator_class(package_dir):
    """Locator class stamping the functions of ``package_dir`` with its digest."""

    class PackageStampedLocator(_LOCATOR_BASE):
        """Numba's usual locator, with the package's source digest in its stamp."""

        package = package_dir

        def __init__(self, inner):
            self._inner = inner

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            return (self._inner.get_source_stamp(), package_source_digest(self.package))

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _is_under(py_file, cls.package):
                return None
            for other in _CACHE_IMPL._locator_classes:
                if getattr(other, "package", None) is not None:
                    continue  # another package's wrapper (or this one)
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner)
            return None

    return PackageStampedLocator


def install(package_dir=PACKAGE_DIR):
    """Make Numba's cache of the jitted functions under ``package_dir`` package-aware.

    Must run before the modules defining those functions are imported (the locator is
    chosen when ``@njit(cache=True)`` decorates). Idempotent.

    Parameters
    ----------
    package_dir : str, default=the fastsparse package
        Directory whose Numba-using sources are digested into every stamp.

    Returns
    -------
    installed : bool
        False (with a warning) if this Numba lacks the internals it needs.
    """
    if _CACHE_IMPL is None or _LOCATOR_BASE is None or not isinstance(
            getattr(_CACHE_IMPL, "_locator_classes", None), list):
        warnings.warn("fastsparse could not hook Numba's cache locator (internal API "
                      "changed); after changing or upgrading fastsparse in place, delete "
                      "its __pycache__/*.nbi and *.nbc files.", RuntimeWarning, stacklevel=2)
        return False
    package_dir = os.path.realpath(package_dir)
    classes = _CACHE_IMPL._locator_classes
    if not any(getattr(c, "package", None) == package_dir for c in classes):
        classes.insert(0, _make_locator_class(package_dir))
    return True
