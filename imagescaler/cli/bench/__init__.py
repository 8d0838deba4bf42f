"""`imagescaler bench`: how fast we are against the floor, naive Pillow, pyvips and thumbor."""
