"""Learning from production: recorded calls and their user feedback (OpenInference spans, OTLP/JSON, a JSONL
log) imported as examples without gold labels, and an online learner that updates the playbook a batch at a time."""

from promptlearn.traces.formats import read_traces
from promptlearn.traces.importing import ImportReport, import_traces
from promptlearn.traces.model import Feedback, Malformed, Trace

__all__ = ["Feedback", "ImportReport", "Malformed", "Trace", "import_traces", "read_traces"]
