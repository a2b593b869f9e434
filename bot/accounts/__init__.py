"""Console accounts: argon2 passwords, the account service (add/reset/disable/login) and cookie sessions."""
