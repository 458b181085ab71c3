"""The plan-extraction engine: reads a 医改 plan and returns its ledger of tasks.

Pure Python, no Django. ``extract_plan(text, resolver)`` returns the dict described in
CONTRACT.md (``extract_ledger --json``); ``read_plan_file`` turns an uploaded .txt/.docx/.pdf
into text. Both raise ``ExtractionError`` (Chinese message) and nothing else.
"""

from .engine import extract_plan
from .errors import ExtractionError
from .header import read_header
from .reader import read_plan_file
from .units import UnitResolver

__all__ = ["ExtractionError", "UnitResolver", "extract_plan", "read_header", "read_plan_file"]
