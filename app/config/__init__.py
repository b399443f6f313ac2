"""Settings (a TOML file) and secrets (the OS keyring, or environment variables)."""
