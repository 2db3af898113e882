"""``python -m book_tools.grade SUBMISSIONS``: see ``book_tools.grade``."""

import sys

from book_tools.grade import main

sys.exit(main())
