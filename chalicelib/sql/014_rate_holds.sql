-- Rate limits cost O(messages), not O(backlog^2): when an account's window is spent, its due
-- messages are held in one statement (those held for the first time get deferred_ts and their
-- one deferred event) and the account is held until the window ends. Nothing reads or writes
-- its backlog again before then: the claim, the retry tick and the run's last look skip a held
-- account. Saving the account clears the hold.
ALTER TABLE accounts ADD COLUMN rate_held_until bigint;
