"""assess: predictive AI evaluation on general scales."""

__version__ = "0.1.0"
