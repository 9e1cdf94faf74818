"""``python -m edge_monitor``."""

import sys

try:
    from edge_monitor.cli import main
except KeyboardInterrupt:  # Ctrl-C before the CLI could install its signal handlers
    print("edge-monitor: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
