"""actlab: reproduce, measure and explain what activation functions do to neural networks."""

__version__ = "0.1.0"
