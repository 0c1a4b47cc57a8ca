"""notifier: renders notices and sends them by SMS and email, each once."""
