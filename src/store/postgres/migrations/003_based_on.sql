-- An outside write carrying the service's revision N (`_balance_sync.revision`): N, kept with the entry
-- that judged it. A later write of the same file carrying N again was made by a writer that last knew
-- this one's written balance, not revision N's: after a restart, when the memory of what that file's
-- writers wrote is gone, the journal still tells (SPEC: the balance last written into that file by
-- another process carrying N). NULL: not an outside write, or one that carried no revision.
ALTER TABLE balance_sync_journal ADD COLUMN based_on bigint;
