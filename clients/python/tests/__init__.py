"""The tests import the package from src/, so that `python3 -m unittest` in clients/python tests
this checkout without installing it."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "src"))
