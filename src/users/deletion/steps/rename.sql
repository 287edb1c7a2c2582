-- Others' comments $1 get bodies $2: their mentions of a deleted account
-- name its pseudonym. Not an edit by their authors: `edited_at` stays.
UPDATE comments c SET body = u.body
  FROM unnest($1::uuid[], $2::text[]) AS u (id, body)
 WHERE c.id = u.id
