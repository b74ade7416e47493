-- Postgres CPU per send and verify (issue 10). See docs/architecture.md,
-- "Postgres CPU per send and verify".

-- The SMS-pumping guard's counting triggers (0007, 0009) ran a PL/pgSQL
-- function (a phone lookup and an INSERT … SELECT over sms_guards) for every
-- SMS code created and consumed, also when the guard was off and nothing
-- could match: ≈ 0.2-0.3 ms of backend CPU per code, as much as the limit
-- server's whole INSERT. sms_counted says whether the guard judged the
-- code's send; the triggers fire only for those codes. It defaults to true,
-- so every path that does not say otherwise counts as before; the
-- one-round-trip send sets it to false when its guard is off.
ALTER TABLE challenges ADD COLUMN sms_counted boolean NOT NULL DEFAULT true;

DROP TRIGGER challenges_sms_sent ON challenges;
DROP TRIGGER challenges_sms_verified ON challenges;

CREATE TRIGGER challenges_sms_sent
	AFTER INSERT ON challenges
	FOR EACH ROW
	WHEN (NEW.sms_counted AND NEW.channel IN ('sms', 'whatsapp'))
	EXECUTE FUNCTION sesame_sms_count();

CREATE TRIGGER challenges_sms_verified
	AFTER UPDATE OF consumed_at ON challenges
	FOR EACH ROW
	WHEN (NEW.sms_counted AND OLD.consumed_at IS NULL AND NEW.consumed_at IS NOT NULL AND NEW.channel IN ('sms', 'whatsapp'))
	EXECUTE FUNCTION sesame_sms_count();
