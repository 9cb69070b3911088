"""monitor: an event-driven news monitor (RSS/Atom -> rules -> stories -> Slack and email)."""

__version__ = "0.1.0"
