DROP TABLE satisfaction_surveys;
DROP TABLE review_sheets;
DROP TABLE review_seats;
DROP TABLE reviews;
