"""The mail gateway: turns bytes from the outside into service calls."""
