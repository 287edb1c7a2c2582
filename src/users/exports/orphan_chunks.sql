-- Chunks of attempts that are no longer the export's own (an instance that
-- lost its lease and wrote on): nothing will read them.
DELETE FROM personal_export_chunks c
 WHERE NOT EXISTS (SELECT 1 FROM personal_exports e WHERE e.id = c.export_id AND e.claim = c.claim)
   AND NOT EXISTS (SELECT 1 FROM personal_exports e
                    WHERE e.id = c.export_id AND e.status = 'pending' AND e.lease_until > now())
