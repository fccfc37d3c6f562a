"""What commands do besides running: ``db2api check``, the demo and its data."""
