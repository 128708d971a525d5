"""Error types. Every error a user can cause is one of these, with a message
that names the problem (path, field, expected vs got); the CLI prints it as
one line instead of a traceback."""


class EdgeAffectError(Exception):
    """Base class for every user-facing error of the SDK."""


class SpecError(EdgeAffectError):
    """A pipeline spec (or manifest's spec section) failed validation."""


class ModelNotFoundError(EdgeAffectError):
    """A model name that the registry does not know."""


class WeightsError(EdgeAffectError):
    """A weights file is missing, corrupt, or does not fit the model."""


class InputError(EdgeAffectError):
    """An image, array or box of the wrong shape, dtype or range."""


class BundleError(EdgeAffectError):
    """A bundle directory or its manifest is missing or malformed."""


class IntegrityError(BundleError):
    """An artifact whose sha256 does not match its manifest."""


class ConversionError(EdgeAffectError):
    """A model cannot be converted for a target (unsupported op, bad calibration set...)."""
