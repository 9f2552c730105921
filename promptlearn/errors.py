"""Errors a user can fix. Each message names the file, line or field at fault and what to do."""


class PromptlearnError(Exception):
    """Base of every error promptlearn raises on purpose; the CLI prints these as one line."""


class ConfigError(PromptlearnError):
    """A run config or option is invalid."""


class DatasetError(PromptlearnError):
    """A dataset file is missing, empty or malformed."""


class ModelError(PromptlearnError):
    """A model is unknown, missing, corrupt, or its provider failed."""


class ProviderDown(ModelError):
    """A provider kept failing after every retry; the run stops cleanly and can be resumed."""


class StoreError(PromptlearnError):
    """The database cannot be opened, written or migrated."""


class TemplateError(PromptlearnError):
    """A judge, rubric or prompt template is missing or broken."""


class BudgetExceeded(PromptlearnError):
    """A budget (rollouts, tokens, cost, time) is spent; the run stops cleanly."""


class UnseenRequest(ModelError):
    """ReplayLM got a request it has no recording for."""
