DROP TABLE objections;
DROP TABLE awards;
