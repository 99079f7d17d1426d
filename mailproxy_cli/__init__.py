"""``mailproxy``: the operators' command line for a Mail Proxy deployment, over its HTTP API."""
