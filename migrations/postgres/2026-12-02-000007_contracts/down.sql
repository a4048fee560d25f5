DROP INDEX fund_ledger_contract;
DROP TABLE contract_amendments;
DROP TABLE tranches;
DROP TABLE contracts;
