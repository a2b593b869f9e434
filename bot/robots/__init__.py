"""Robots: their health."""
