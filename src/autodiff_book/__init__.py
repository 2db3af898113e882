"""Helpers for the executable book on automatic differentiation in PyTorch."""

__version__ = "0.1.0"
