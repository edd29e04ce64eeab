"""The views of the TUI, one per file, and their modals."""
