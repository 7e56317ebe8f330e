"""The ``ctrnn`` command line: one thin Typer verb per library function."""
