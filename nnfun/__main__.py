"""`python -m nnfun` runs the command-line tool."""

import sys

from nnfun_cli.launch import main

sys.exit(main())
