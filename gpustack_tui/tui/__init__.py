"""The Textual TUI: views of the server's deployments, workers and logs, through `client.py`."""
