-- A mail is sent inside the transaction that records it: give the SMTP
-- exchange longer than the pool's idle-in-transaction limit (for this
-- transaction only; set_config rather than SET, so that it prepares).
SELECT set_config('idle_in_transaction_session_timeout', '120s', true)
