"""Export, import, diff and roll back playbooks; load an exported playbook in an application."""

from promptlearn.export.diffing import diff_versions, rollback
from promptlearn.export.errors import ExportError, ImportFileError, LostVariablesError
from promptlearn.export.formats import FORMATS, export_playbook, sent_text
from promptlearn.export.importing import import_prompt, start_run_from_import
from promptlearn.export.runtime import load_playbook, load_tools, messages_for, render_with, template_variables
from promptlearn.export.verify import verify_export

__all__ = [
    "FORMATS", "ExportError", "ImportFileError", "LostVariablesError", "diff_versions", "export_playbook",
    "import_prompt", "load_playbook", "load_tools", "messages_for", "render_with", "rollback", "sent_text",
    "start_run_from_import", "template_variables", "verify_export",
]
