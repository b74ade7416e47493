-- SMS routes and failover: the providers (names from SMS_PROVIDERS) a message
-- was handed to, in order of attempt, and the one that accepted it ('' until
-- one did). Constant defaults: no table rewrite.
ALTER TABLE messages ADD COLUMN providers_tried text[] NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN provider text NOT NULL DEFAULT '';
