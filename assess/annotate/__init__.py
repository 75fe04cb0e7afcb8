"""Annotation engine: demand levels for battery instances from any LLM — cached, resumable, parallel, auditable.

Pipeline: :class:`AnnotationJob` (battery × scales × mode → keyed requests with deterministic prompts)
→ :func:`annotate` / :func:`run_live` (live backend) or :func:`export_requests` / :func:`import_results` (batch files)
→ :class:`AnnotationStore` (SQLite WAL cache, every answer committed as it arrives)
→ :meth:`AnnotationJob.annotated` (the battery with levels and provenance).
"""
from __future__ import annotations

from .batchfile import export_requests, import_results, read_results
from .config import AnnotatorConfig, load_annotator
from .engine import annotate, run_live
from .job import AnnotationJob
from .parse import ParseError, parse_answer, parse_level, parse_levels
from .prompts import PROMPT_VERSION, AnnotationRequest
from .store import AnnotationStore, StoredAnswer
from .summary import RunSummary

__all__ = ["PROMPT_VERSION", "AnnotationJob", "AnnotationRequest", "AnnotationStore", "AnnotatorConfig",
           "ParseError", "RunSummary", "StoredAnswer", "annotate", "export_requests", "import_results",
           "load_annotator", "parse_answer", "run_live", "parse_level", "parse_levels", "read_results"]
