"""Typed errors. Each message names the file or sample at fault and how to fix it."""

from __future__ import annotations

__all__ = ["CrnnError", "CharsetError", "CheckpointError", "ConfigError", "DatasetError",
           "ImageTooLargeError", "OutOfMemoryError", "TrainingError"]


class CrnnError(Exception):
    """Base class of every error this package raises on purpose."""


class CharsetError(CrnnError):
    """A charset file cannot be read, or a label holds a character outside the charset."""


class CheckpointError(CrnnError):
    """A file is not a crnn checkpoint, is truncated, or does not match the charset."""


class ConfigError(CrnnError):
    """A configuration value is missing, unknown or out of range."""


class DatasetError(CrnnError):
    """A dataset, label file or image cannot be used."""


class ImageTooLargeError(DatasetError):
    """An image has more pixels than the limit in force (``--max-pixels``)."""


class TooManyPagesError(DatasetError):
    """A document has more pages than the limit in force (the service's ``--max-pages``)."""


class NotAnImageError(DatasetError):
    """Bytes that are neither a readable image nor a PDF."""


class OutOfMemoryError(CrnnError):
    """A training batch did not fit in the device's memory; the message gives one that does."""


class TrainingError(CrnnError):
    """Training cannot go on (it diverged); the message says what to change."""
