"""The fuzzing engine behind ``benchmarks/fuzz.py`` (the command line).

Layers, arrows pointing down only:

- :mod:`fuzzing.mutations`: the mutations of what is inside a cut's files (cells, headers, rows,
  bytes, ``cut.yaml``, degenerate data) and :class:`~fuzzing.mutations.Case`;
- :mod:`fuzzing.cases`: the mutations of the folder (files, symlinks, workbooks) and
  :func:`~fuzzing.cases.make_case`, which builds case ``number`` of ``seed`` on its own;
- :mod:`fuzzing.checks`: snapshots, :class:`~fuzzing.checks.Failure` and the ``validate`` and
  ``run`` checks.

This is a folder of scripts, not an installed package: ``benchmarks/fuzz.py`` finds it because
Python puts the script's folder first on ``sys.path``, and ``tests/test_fuzz.py`` puts
``benchmarks/`` there itself.
"""
