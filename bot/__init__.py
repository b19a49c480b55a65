"""Assembly: configuration, wiring, the command line and the ASGI app."""

__version__ = "0.1.0"
