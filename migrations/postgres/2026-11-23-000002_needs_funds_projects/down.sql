DROP TABLE calendar_years;
DROP TABLE project_amendments;
DROP TABLE project_needs;
DROP TABLE projects;
DROP TABLE fund_ledger;
DROP FUNCTION fund_ledger_insert_only();
DROP TABLE funds;
DROP TABLE needs;
