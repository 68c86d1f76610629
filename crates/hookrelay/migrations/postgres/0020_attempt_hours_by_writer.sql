-- A row of attempt_hours per writer: each node's recorder adds to rows of its own (a number it
-- draws at start), so two nodes recording the same busy webhook's attempts in the same hour
-- never wait on each other's row lock; readers add the rows up. Existing rows are writer 0, as
-- a test send's are.
ALTER TABLE attempt_hours ADD COLUMN writer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempt_hours DROP CONSTRAINT attempt_hours_pkey;
ALTER TABLE attempt_hours ADD PRIMARY KEY (webhook_id, hour_start, writer);
