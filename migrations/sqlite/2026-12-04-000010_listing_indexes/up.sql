-- Indexes for the listing filters that had none (issue 15): each one lets the planner read a
-- page's worth of rows for its filter instead of scanning the table in id order and filtering.
-- Checked with EXPLAIN at 1M needs / 100k projects by scripts/bench-listing.
CREATE INDEX projects_category_newest ON projects (category, id);
CREATE INDEX projects_method_newest ON projects (method, id);
-- A status and a category together (the open projects of one category).
CREATE INDEX projects_status_category_newest ON projects (status, category, id);
CREATE INDEX projects_budget ON projects (budget_ceiling_fen);
CREATE INDEX projects_close_any ON projects (bid_close_at);
CREATE INDEX needs_district_status_newest ON needs (district_id, status, id);
CREATE INDEX needs_district_category_newest ON needs (district_id, category, id);
-- The guide list of one category: the guide order within (district, status, category).
CREATE INDEX needs_guide_category ON needs (district_id, status, category, supporters, urgency_rank, id);
