"""The management API under /api/v1 (token required)."""
