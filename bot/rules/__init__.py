"""Schemas and loaders for the YAML files admins edit in `rules/`."""
