"""Test helpers, one module per concern; tests/conftest.py holds fixtures only."""
