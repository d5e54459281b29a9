from __future__ import annotations

from callsop.cli import main

raise SystemExit(main())
