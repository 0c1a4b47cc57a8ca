"""status_api: the public, read-only tracking API. It holds no personal data."""
