-- A webhook's payload filter (docs/filters.md): the filter's JSON as the API accepted it, compact;
-- NULL when the webhook has none, which is what every existing webhook gets.
ALTER TABLE webhooks ADD COLUMN payload_filter TEXT;
