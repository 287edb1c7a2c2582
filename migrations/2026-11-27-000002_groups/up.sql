CREATE TABLE groups (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    slug        text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
    description text CHECK (char_length(description) <= 5000),
    visibility  text NOT NULL CHECK (visibility IN ('public', 'private')),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_slug_lower_key ON groups (lower(slug));
CREATE INDEX groups_public_idx ON groups (created_at DESC, id DESC) WHERE visibility = 'public';

CREATE TABLE memberships (
    group_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('owner', 'organiser', 'moderator', 'member')),
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id, group_id);
CREATE INDEX memberships_list_idx ON memberships (group_id, joined_at, user_id);

-- Invite codes are secrets: only their hash is kept, the code is shown once.
CREATE TABLE invites (
    id         uuid PRIMARY KEY,
    group_id   uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL UNIQUE,
    created_by uuid NOT NULL REFERENCES users (id),
    max_uses   integer CHECK (max_uses > 0),
    uses       integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invites_group_idx ON invites (group_id, created_at DESC);

-- A ban keeps the membership row, so a timed ban ends by itself and the
-- member comes back with the role they had.
CREATE TABLE bans (
    group_id   uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    banned_by  uuid NOT NULL REFERENCES users (id),
    reason     text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id)
);

-- One row per moderation action. No foreign keys on purpose: the log outlives
-- whatever it talks about and is never removed by a cascade.
CREATE TABLE modlog (
    id          uuid PRIMARY KEY,
    group_id    uuid NOT NULL,
    actor_id    uuid NOT NULL,
    action      text NOT NULL CHECK (action IN (
                    'lock', 'unlock', 'pin', 'unpin', 'hide', 'restore',
                    'ban', 'unban', 'role_change', 'resolve_report', 'delete')),
    target_type text NOT NULL CHECK (target_type IN ('thread', 'comment', 'user', 'report')),
    target_id   uuid NOT NULL,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX modlog_group_idx ON modlog (group_id, created_at DESC, id DESC);
