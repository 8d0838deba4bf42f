"""`python -m imagescaler`: the same as the `imagescaler` command."""

import sys

from imagescaler.cli.main import main

sys.exit(main())
