"""``python -m cli``: the ``ctrnn`` command."""

from cli import main

main()
