"""The REST gateway: uploads and URLs over HTTP, JWT auth, rate limits, docs and the upload page."""
