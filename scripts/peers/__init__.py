"""The modules of ``scripts/compare_peers.py`` (see its docstring): fastsparse against
scikit-learn, skglm and celer, every solver brought to the same accuracy by the script."""
