"""Tracking state in Redis: the key scheme, the apply script and the reads."""

from shipnotify.store.tracking import Applied, Shipment, TrackingStore

__all__ = ["Applied", "Shipment", "TrackingStore"]
