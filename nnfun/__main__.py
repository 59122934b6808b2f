"""`python -m nnfun` runs the command-line tool."""

from nnfun_cli.app import main

main()
