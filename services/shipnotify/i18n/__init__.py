"""Everything users read, in their language: labels, notices, pages (see README.md)."""
