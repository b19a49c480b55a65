"""Channel adapters: Twilio SMS and Voice, Telegram and the local sandbox."""
