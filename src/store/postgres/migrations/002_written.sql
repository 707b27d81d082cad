-- An outside write booked on top of the balance (the booking rule): the balance its writer put into the
-- file, which is not the balance it led to. A later write of the same file that echoes it is judged
-- against this, not against the booking's result (NULL: the entry's balance is what was written).
ALTER TABLE balance_sync_journal ADD COLUMN written numeric(21, 8);
