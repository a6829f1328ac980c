import sys

from lepton_stream.cli import main

sys.exit(main())
