"""notifier: renders notices and sends them by SMS, email and Web Push, each once."""
