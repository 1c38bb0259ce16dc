import sys

from wfrewrite.cli.main import main

sys.exit(main())
