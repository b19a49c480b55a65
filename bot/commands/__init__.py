"""Command implementations of the ``carebot`` command line, one module per command group."""
