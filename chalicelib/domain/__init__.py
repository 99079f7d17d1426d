"""Pure domain logic: no I/O, time and data come in as arguments."""
