"""What features share to talk to Telegram: update intake (bounded), the webhook server,
delivery (rate limits, retries), keyboards, the flood guard, logs without secrets, and the
messages of a failed start. Nothing here knows a feature."""
