"""PostgreSQL repositories: one per area, all over the shared ``Database``.

Every statement binds its parameters; the rules the SQL once hid (which batches a suspend
refuses, when a changed mailbox resets the IMAP UID, the dispatch order, the counters an
account starts with) live in ``chalicelib.domain``.
"""
