"""hooks: what providers send back (delivery receipts, inbound SMS), and the operators'
view of a shipment's notices."""
