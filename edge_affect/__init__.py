"""edge-affect: on-device facial-affect SDK — one pipeline spec, many targets, proven parity."""

__version__ = "0.1.0"
