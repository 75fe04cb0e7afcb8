"""Importers: per-instance outcomes from other harnesses' logs, joined to a battery.

Readers turn a log into records (:mod:`.lm_eval` for lm-evaluation-harness ``--log_samples``
JSONL, :mod:`.inspect_log` for Inspect AI JSON eval logs, :mod:`.wide` for 0/1 matrices);
:func:`.matching.match_records` joins them to battery items by id or by normalised prompt text
and reports every record that did not match, with the reason.
"""
