DROP INDEX needs_guide_category;
DROP INDEX needs_district_category_newest;
DROP INDEX needs_district_status_newest;
DROP INDEX projects_close_any;
DROP INDEX projects_budget;
DROP INDEX projects_method_newest;
DROP INDEX projects_status_category_newest;
DROP INDEX projects_category_newest;
