import sys

from token_service.cli import main

sys.exit(main())
