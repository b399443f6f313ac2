"""`python -m app` runs the ReceiptDesk command line."""

from app.cli import main

raise SystemExit(main())
