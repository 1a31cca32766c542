"""Registered fusion-network variants (one config dataclass + factory per file)."""
