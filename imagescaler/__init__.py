"""imagescaler: the command line and the small runtime pieces shared by the services."""
