-- The groups user $1 alone owns (src/users/deletion.rs `sole_owned`). The
-- owners' memberships of every group $1 owns are locked first, in the order
-- leaving a group locks them (src/groups/models.rs `lock_owners`), so an
-- owner leaving at the same time either commits first or sees $1 gone.
WITH owned AS (
    SELECT o.group_id, o.user_id
      FROM memberships o
     WHERE o.role = 'owner'
       AND o.group_id IN (SELECT m.group_id FROM memberships m WHERE m.user_id = $1 AND m.role = 'owner')
     ORDER BY o.group_id, o.user_id
       FOR UPDATE
)
SELECT g.id, g.name, g.slug
  FROM groups g
 WHERE g.id IN (SELECT group_id FROM owned)
   AND NOT EXISTS (SELECT 1 FROM owned x WHERE x.group_id = g.id AND x.user_id <> $1)
 ORDER BY g.name, g.id
