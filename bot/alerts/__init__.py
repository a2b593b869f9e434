"""Alerts (DESIGN §3.4): opening, 4-level escalation, the 5 cancel conditions, exactly-once notifications."""
