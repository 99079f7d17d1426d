"""The local Lambda runtime: run in the function's isolated interpreter, stdlib only."""
