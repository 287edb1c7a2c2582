CREATE TABLE users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL CHECK (username ~ '^[A-Za-z0-9_-]{3,32}$'),
    email         text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    display_name  text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 64),
    bio           text CHECK (char_length(bio) <= 2000),
    password_hash text NOT NULL,
    -- Bumped on password change and logout-everywhere: access tokens carry the
    -- version they were issued under, so bumping it invalidates them all at once.
    token_version integer NOT NULL DEFAULT 0,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Refresh tokens are stored only as SHA-256 hashes. A family is one sign-in:
-- every rotation stays in the family, and reuse of a spent token revokes it.
CREATE TABLE refresh_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
