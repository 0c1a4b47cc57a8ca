"""tracker: applies shipment events to Redis and emits the notification jobs they call for."""
