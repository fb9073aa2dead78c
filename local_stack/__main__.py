import sys

from local_stack.runner import main

sys.exit(main())
