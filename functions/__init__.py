"""Lambda entry points: a few lines each, over chalicelib services."""
