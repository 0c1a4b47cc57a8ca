"""`shipnotify dev`: the embedded broker, a loopback redis-server, every service, a demo courier."""
