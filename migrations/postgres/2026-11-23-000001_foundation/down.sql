DROP TABLE idempotency_keys;
DROP TABLE outbox;
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP FUNCTION audit_events_insert_only();
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE regions;
