-- An attempt is only ever read through its delivery, so the delivery leads its primary key and
-- the separate index by delivery goes: each recorded attempt wrote two index entries, now one.
ALTER TABLE attempts DROP CONSTRAINT attempts_pkey, ADD PRIMARY KEY (delivery_id, id);
DROP INDEX attempts_by_delivery;
