-- memberships.json: the groups user $1 belongs to and their role ($2 the
-- public base URL; keyset: after $3, $4 rows).
SELECT m.group_id::text AS k,
       json_build_object('group', json_build_object('id', g.id, 'name', g.name, 'slug', g.slug,
                                                    'iri', $2 || '/api/v1/groups/' || g.id),
                         'role', m.role, 'joined_at', m.joined_at)::text AS doc
  FROM memberships m
  JOIN groups g ON g.id = m.group_id
 WHERE m.user_id = $1 AND m.group_id::text > $3
 ORDER BY 1
 LIMIT $4
