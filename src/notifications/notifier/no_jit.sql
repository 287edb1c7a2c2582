-- A round's statements are planned with row estimates no better than a
-- guess; compiling them (JIT) cost more than running them. For this
-- transaction only.
SELECT set_config('jit', 'off', true)
