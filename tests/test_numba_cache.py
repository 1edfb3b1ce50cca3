"""Numba's on-disk cache must not serve a kernel compiled against an older callee.

See fastsparse/_numba_cache.py: Numba stamps a cached function with its own file only.
"""

import os
import subprocess
import sys

import pytest

import fastsparse
from fastsparse import _kernels, _numba_cache, _sparse_ops

CALLER = """\
from numba import njit
from .callee import g


@njit(cache=True)
def f(x):
    return g(x)
"""

CALLEE = """\
from numba import njit


@njit(cache=True)
def g(x):
    return x + {increment}
"""


def _write_package(root, name, hooked, increment):
    """A two-module package: ``caller.f`` calls ``callee.g``, both cached."""
    pkg = root / name
    pkg.mkdir(exist_ok=True)
    init = ("import os\nfrom fastsparse import _numba_cache\n"
            "_numba_cache.install(os.path.dirname(os.path.abspath(__file__)))\n"
            if hooked else "")
    (pkg / "__init__.py").write_text(init)
    (pkg / "caller.py").write_text(CALLER)
    (pkg / "callee.py").write_text(CALLEE.format(increment=increment))


def _call_f(root, name, cache_dir):
    """``caller.f(1)`` in a fresh process, with the Numba cache in ``cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir),
               PYTHONPATH=os.pathsep.join([str(root), os.path.dirname(
                   os.path.dirname(os.path.abspath(fastsparse.__file__)))]))
    code = f"from {name}.caller import f; print(f(1))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("hooked", [False, True], ids=["numba-alone", "hooked"])
def test_changed_callee_in_another_file_is_recompiled(tmp_path, hooked):
    name = "hookedpkg" if hooked else "plainpkg"
    cache_dir = tmp_path / "numba_cache"
    _write_package(tmp_path, name, hooked, increment=1)
    assert _call_f(tmp_path, name, cache_dir) == 2
    assert any(p.suffix == ".nbi" for p in cache_dir.rglob("*")), "nothing was cached"

    _write_package(tmp_path, name, hooked, increment=10)  # caller.py is unchanged
    result = _call_f(tmp_path, name, cache_dir)
    if hooked:
        assert result == 11
    else:
        # Numba alone serves f compiled with the old g: the hazard the hook exists for.
        # Should a Numba release track such dependencies itself, this control fails and
        # fastsparse/_numba_cache.py can go.
        assert result == 2


def test_fastsparse_kernels_are_stamped_with_the_package_digest():
    package = os.path.realpath(os.path.dirname(fastsparse.__file__))
    for kernel in (_sparse_ops.dot, _kernels.conjugate_penalty):
        locator = kernel._cache._impl.locator
        assert getattr(locator, "package", None) == package
        own_stamp, digest = locator.get_source_stamp()
        assert digest == _numba_cache.package_source_digest(package)
        assert own_stamp is not None


def test_digest_covers_numba_sources_only(tmp_path):
    (tmp_path / "kern.py").write_text("import numba\nX = 1\n")
    (tmp_path / "plain.py").write_text("Y = 1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "deep.py").write_text("from numba import njit\n")

    def digest():
        _numba_cache.package_source_digest.cache_clear()
        return _numba_cache.package_source_digest(str(tmp_path))

    base = digest()
    (tmp_path / "plain.py").write_text("Y = 2\n")
    assert digest() == base
    (sub / "deep.py").write_text("from numba import njit\nZ = 3\n")
    changed = digest()
    assert changed != base
    (tmp_path / "kern.py").write_text("import numba\nX = 2\n")
    assert digest() != changed
    _numba_cache.package_source_digest.cache_clear()


def test_install_is_idempotent():
    classes = _numba_cache._CACHE_IMPL._locator_classes
    before = list(classes)
    assert _numba_cache.install()
    assert list(classes) == before
    package = os.path.realpath(_numba_cache.PACKAGE_DIR)
    assert sum(getattr(c, "package", None) == package for c in classes) == 1


def test_the_hook_keeps_numbas_cache_directory():
    """The wrapper changes the stamp only: files land where Numba would put them."""
    locator = _sparse_ops.dot._cache._impl.locator
    inner = locator._inner
    assert locator.get_cache_path() == inner.get_cache_path()
    assert locator.get_disambiguator() == inner.get_disambiguator()
