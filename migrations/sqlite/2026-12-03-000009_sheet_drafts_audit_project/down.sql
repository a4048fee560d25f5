DROP INDEX audit_events_project;
ALTER TABLE audit_events DROP COLUMN project_id;
DROP TABLE sheet_drafts;
