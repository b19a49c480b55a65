"""The dashboard's fixtures (server, team, browser_for) serve the API tests too."""

from tests.dashboard.conftest import browser_for, server, team

__all__ = ["browser_for", "server", "team"]
