-- Mail is stored whole (raw_mails.raw, 37 kB on average in the corpus) and its text and files
-- again (messages, blobs): PostgreSQL's default pglz compression of those values cost the ingest
-- more CPU than any statement (bench/ingest.py). lz4 compresses a few times faster for a little
-- less saving (bench/ingest: PostgreSQL 5.0 -> 4.1 CPU s per 1000 mails). Values already stored keep their
-- compression until rewritten. Needs a server built with lz4, as the Debian and Ubuntu packages are.
ALTER TABLE raw_mails ALTER COLUMN raw SET COMPRESSION lz4;
ALTER TABLE blobs ALTER COLUMN data SET COMPRESSION lz4;
ALTER TABLE messages ALTER COLUMN body_text SET COMPRESSION lz4, ALTER COLUMN body_html SET COMPRESSION lz4;
