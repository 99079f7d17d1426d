"""Adapters: the only modules that talk to PostgreSQL, AWS, SMTP, HTTP and IMAP."""
