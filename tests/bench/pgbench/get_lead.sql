-- GetLead's query: a point read of one lead by account and id.
-- Run with -M prepared -D account=<account id> -D lead=<lead id>.
SELECT body FROM leads WHERE account_id = :account AND id = :lead;
