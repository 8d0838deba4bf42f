"""`imagescaler profiles`: list, import from and export to Hugging Face processor
configurations, and check a profile against its model's processor."""
