"""Subject runs: raw per-instance outcomes from real model runs (``assess run run.yaml``).

Inspect AI's separation: :mod:`.dataset` turns battery rows into samples (prompt templates per
answer format, optional few-shot), :mod:`.solvers` produce raw outputs through a backend
(generation or log-likelihood ranking), :mod:`.scorers` / :mod:`.judge` decide correctness,
:mod:`.runner` caches (:mod:`.store`), shows progress and summarises, :mod:`.job` ties a
:mod:`.config` to files.
"""
