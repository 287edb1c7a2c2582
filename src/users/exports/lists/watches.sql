-- watches.json: what user $1 watches or mutes, at which level, by IRI ($2
-- the public base URL; keyset: after $3, $4 rows). A paragraph is watched
-- within a session (`in_session`); other scopes carry the nil id there.
SELECT w.scope || '/' || w.scope_id || '/' || w.in_session AS k,
       json_build_object('scope', w.scope, 'scope_id', w.scope_id, 'in_session', w.in_session,
                         'iri', CASE w.scope
                                    WHEN 'group' THEN $2 || '/api/v1/groups/' || w.scope_id
                                    WHEN 'session' THEN $2 || '/api/v1/sessions/' || w.scope_id
                                    WHEN 'thread' THEN $2 || '/api/v1/threads/' || w.scope_id
                                    ELSE $2 || '/api/v1/sessions/' || w.in_session || '#p-' || w.scope_id
                                END,
                         'level', w.level, 'updated_at', w.updated_at)::text AS doc
  FROM watches w
 WHERE w.user_id = $1
   AND w.scope || '/' || w.scope_id || '/' || w.in_session > $3
 ORDER BY 1
 LIMIT $4
