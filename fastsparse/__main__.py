"""``python -m fastsparse``: run the built-in demo (see :mod:`fastsparse.demo`)."""

from .demo import main

if __name__ == "__main__":
    raise SystemExit(main())
