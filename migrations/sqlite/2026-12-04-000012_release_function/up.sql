-- PostgreSQL releases through a function (gongyi_release_tranche); SQLite, where a statement is no round trip, runs the same steps from Rust. Nothing to change here.
SELECT 1;
