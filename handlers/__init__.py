"""The per-message pipeline steps, one module per concern."""
