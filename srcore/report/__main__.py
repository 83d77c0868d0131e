"""`python -m srcore.report`: the offline page of every DVC plot (srcore.report.page)."""

import sys

from srcore.report.page import main

sys.exit(main())
