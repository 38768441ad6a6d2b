-- Schema 1: first made by commit 1d7b62a (2026-11-26): Question log: SQLite (WAL) with masked, normalised text, keyed user ha
-- Stores: question_log v1
BEGIN TRANSACTION;
CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            asked_at TEXT NOT NULL,      -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ
            text TEXT NOT NULL,          -- personal data masked, then normalised
            lang TEXT,
            outcome TEXT NOT NULL,
            entry_id TEXT,
            score REAL NOT NULL,
            user_hash TEXT,              -- HMAC of the Telegram user id, never the id itself
            channel TEXT NOT NULL,
            helpful INTEGER,             -- feedback: 1 yes, 0 no, NULL none
            feedback_at TEXT
        );
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO "schema_version" VALUES(1);
CREATE INDEX questions_by_time ON questions (asked_at);
COMMIT;
