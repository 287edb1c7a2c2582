-- Notification mail (src/mailing/): verified addresses, each reader's mail
-- settings, which items were mailed, and which digests went out.

-- When the account's current address was verified; NULL = not verified.
-- Every account that exists now starts unverified: nothing proves its address.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Verification links: 256 random bits, kept as SHA-256, single use, 24 hours.
-- `email` is the address the link proves: confirming it makes that address
-- the account's, verified (so a link sent to a new address can confirm a change).
CREATE TABLE email_verifications (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id);

-- A reader's notification mail; no row = the defaults (immediate, daily).
CREATE TABLE notification_settings (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email      text NOT NULL DEFAULT 'immediate' CHECK (email IN ('immediate', 'digest', 'off')),
    digest     text NOT NULL DEFAULT 'daily' CHECK (digest IN ('daily', 'weekly', 'off')),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- The digest round looks readers up by rhythm.
CREATE INDEX notification_settings_digest_idx ON notification_settings (digest, user_id);

-- The immediate mail of an item: the item's latest_seq when it was mailed.
-- The item is not mailed again until its recipient has read up to that seq
-- (one mail per unread episode).
CREATE TABLE notification_mails (
    notification_id uuid PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    mailed_seq      bigint NOT NULL,
    mailed_at       timestamptz NOT NULL DEFAULT now()
);
-- Items that may be due for an immediate mail, by activity time.
CREATE INDEX notifications_mail_due_idx ON notifications (updated_at)
    WHERE reason IN ('moderation', 'mention', 'reply');

-- Digests sent: one per reader and period, whichever instance sends it.
CREATE TABLE notification_digests (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rhythm     text NOT NULL CHECK (rhythm IN ('daily', 'weekly')),
    period_end timestamptz NOT NULL,
    items      integer NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, rhythm, period_end)
);
