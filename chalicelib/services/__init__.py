"""Use cases. Each takes its ports (store, queues, cipher, clock, settings) as arguments."""
