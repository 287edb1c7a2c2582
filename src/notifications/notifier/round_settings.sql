-- For this round's transaction only. Its statements are planned with row
-- estimates no better than a guess, and compiling them (JIT) cost more than
-- running them. It is background work that holds no lock a request waits
-- for (the cursor's row; items it writes are read without locks), so it
-- may run longer than a request's statement: a round's cost grows with the
-- items it writes, and a larger round writes each busy item once for many
-- comments.
SELECT set_config('jit', 'off', true), set_config('statement_timeout', '30s', true)
