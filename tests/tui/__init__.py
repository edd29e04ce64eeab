"""Pilot tests of the TUI, against model objects and against a real server."""
