"""What the layers pass around: documents, windows, dead letters, resolutions, the ledger."""
