DROP TABLE ocds_releases;
