"""The pipeline's typed failures, each with the exit code that tells it apart."""


class PipelineError(Exception):
    """A failure the pipeline understands; its message names the month, file, column and rule."""

    exit_code = 1


class MissingSourceError(PipelineError):
    """One or more raw exports of the month are missing or empty."""

    exit_code = 3


class InvalidInputError(PipelineError):
    """A raw export cannot be read, or breaks a rule of its schema."""

    exit_code = 6


class QualityGateError(PipelineError):
    """The reconciled month failed an error-level data-quality check; no report was written."""

    exit_code = 7

    def __init__(self, message: str, checks: list[dict] | None = None):
        super().__init__(message)
        self.checks = checks or []  # every check of the gate, as recorded (shown in the failure alert)


class DeliveryError(PipelineError):
    """The month's email could not be delivered."""

    exit_code = 8


class LakeError(PipelineError):
    """The lake URL is unusable or the lake cannot be reached."""

    exit_code = 9


class ConfigurationError(PipelineError):
    """The configuration refuses the run before it starts: a setting it needs is empty or contradicts another."""

    exit_code = 10
