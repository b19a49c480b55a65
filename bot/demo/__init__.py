"""The demo: a made-up care team and panel on the sandbox channel, and a month in fast time."""
