"""Exceptions that the command line turns into exit codes."""


class PublishError(Exception):
    """Base class of the errors this package raises on purpose."""

    exit_code = 2


class ConfigurationError(PublishError):
    """Usage or configuration is wrong (no catalogue there, bad option): exit code 2."""

    exit_code = 2
