"""`imagescaler batch`: a whole dataset through a profile into WebDataset shards, resumable."""
