DROP TABLE score_sheets;
DROP TABLE panel_seats;
DROP TABLE panel_draws;
DROP TABLE expert_relationships;
DROP TABLE experts;
