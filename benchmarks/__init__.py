"""Benchmarks of the generated projects against raw PyTorch, Lightning, Accelerate and PIL.

Run from the repository root, in an environment with torch (and optionally lightning and
accelerate):

    python -m benchmarks                 # the full run (9-15 minutes on a busy 2-core
                                         # machine); writes benchmarks/RESULTS.md
    python -m benchmarks --quick         # a smoke run in well under a minute; writes nothing
    python -m benchmarks --device cuda   # the training-step rows on a GPU

Each group of contenders runs side by side in one worker process (`python -m
benchmarks.worker`), on projects rendered from this working tree with
`generator.render.render`. See benchmarks/RESULTS.md for the method and the results.

The modules this package imports at the top (cli, report, stats, machine) need no torch,
so the generator's tests can check them without it.
"""
