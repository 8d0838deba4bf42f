"""The browser upload page, served by the gateway as static files."""
