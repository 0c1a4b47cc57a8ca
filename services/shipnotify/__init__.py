"""shipnotify: real-time shipment-status notifications."""
