"""The `imagescaler` command and its tools (up, client, probe, token, bench, load): the top
layer, which may import every service."""
