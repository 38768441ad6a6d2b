"""What features share: the bot's services, sending a reply, which messages are for the bot,
handler groups, the /forget registry, the flood gate and error handler, learning's state."""
