"""``python -m xueji`` runs the command line."""

from xueji.cli import main

main()
