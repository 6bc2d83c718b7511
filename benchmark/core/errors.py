"""The errors W2S-Bench raises on purpose.

Every message names the thing that is wrong and says how to fix it; the CLI prints these
without a traceback, so anything else reaching the user is a bug.
"""

from __future__ import annotations


class W2SBenchError(Exception):
    """Base class: a problem the user can act on."""


class UnknownNameError(W2SBenchError, LookupError):
    """A task, model, method, suite or dataset name that is not registered."""


class DuplicateNameError(W2SBenchError):
    """Two registrations under one name: the second would silently shadow the first."""


class SpecError(W2SBenchError):
    """A YAML file or record that does not match its schema."""


class IntegrityError(W2SBenchError):
    """A file whose sha256 does not match its lock."""


class AssetError(W2SBenchError):
    """An embedded asset is missing, or its download does not match the manifest."""


class MethodError(W2SBenchError):
    """A method returned something the harness cannot score (wrong shape, not probabilities)."""


class PluginError(W2SBenchError):
    """A method plugin that cannot be used (import error, bad metadata, name clash)."""
