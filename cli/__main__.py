import sys

from wfrewrite.main import main

sys.exit(main())
