"""The project's errors; turned into messages only at the edges (CLI exit codes, HTTP statuses, UI notices)."""


class QAError(Exception):
    """Base class: anything the bot can explain to a person."""

    exit_code = 1
    http_status = 500


class InvalidQuestion(QAError):
    """Empty, too long or otherwise unusable question."""

    exit_code = 2
    http_status = 400


class InvalidFilter(QAError):
    """A filter names a date that is not one, or an article that does not exist."""

    exit_code = 2


class ChatNotFound(QAError):
    """A saved conversation id that does not exist (deleted, or never made)."""

    exit_code = 2


class IngestError(QAError):
    """A file or folder could not be ingested at all (single files are rejected in the report instead)."""

    exit_code = 3
    http_status = 400


class InputRejected(QAError):
    """One input (a file, a URL, a feed entry) cannot become an article; ingest reports it and goes on with the rest."""

    exit_code = 2


class FetchError(InputRejected):
    """A URL was refused (scheme, address, type, size) or could not be fetched."""


class StoreUnavailable(QAError):
    """The Chroma store (local or server) cannot be reached."""

    exit_code = 4
    http_status = 503


class StoreCorrupted(QAError):
    """The local store exists but cannot be read."""

    exit_code = 5
    http_status = 503


class BackendError(QAError):
    """The answer backend (LLM server) failed."""

    exit_code = 6
    http_status = 502


class PromptError(QAError):
    """A prompt file is missing or its variables do not match."""

    exit_code = 7
    http_status = 500


class TranslationFailed(QAError):
    """The machine translator could not render a quote (the answer then shows the original)."""

    exit_code = 8
    http_status = 500


class InvalidSetting(QAError):
    """A setting or option names something that does not exist (a check, a model folder)."""

    exit_code = 2
    http_status = 500


class ModelUnavailable(QAError):
    """A model built from an installed package cannot be written or loaded (its cache folder read-only, a damaged file)."""

    exit_code = 9
    http_status = 503
