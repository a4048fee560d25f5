DROP TABLE bids;
DROP TABLE organizations;
