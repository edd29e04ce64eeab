"""The server's state: the SQLite store (WAL, one transaction per write) and its migrations."""
