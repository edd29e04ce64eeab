"""Pure models and rules shared by the server, the CLI and the TUI. No I/O here."""
