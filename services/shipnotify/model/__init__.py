"""Pure domain logic: statuses and their moves, codecs. No I/O here."""
