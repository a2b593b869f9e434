"""After-sales tasks (DESIGN §3.5): creation from messages, auto-assignment, user-response monitoring."""
