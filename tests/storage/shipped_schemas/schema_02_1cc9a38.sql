-- Schema 2: first made by commit 1cc9a38 (2026-12-02): Merge i11: ask the agency (hand-off to a staff group, relayed replies,
-- Stores: question_log v1, tickets v1
BEGIN TRANSACTION;
CREATE TABLE blocked_users (
            user_hash TEXT PRIMARY KEY,
            blocked_at TEXT NOT NULL
        );
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
CREATE TABLE ticket_routes (
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            PRIMARY KEY (chat_id, message_id)
        );
CREATE TABLE tickets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after /forget
            draft TEXT UNIQUE,                     -- the confirmation it came from: a second
                                                   -- tap on "send" finds this ticket again
            user_hash TEXT,                        -- HMAC of the Telegram id; NULL once erased
            chat_id INTEGER,                       -- the route back; NULL once erased
            user_name TEXT,                        -- only with the user's consent
            lang TEXT NOT NULL,
            question TEXT NOT NULL,
            offered TEXT NOT NULL,                 -- JSON
            status TEXT NOT NULL,                  -- open | closed
            opened_at TEXT NOT NULL,               -- UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ
            last_activity_at TEXT NOT NULL,
            first_staff_reply_at TEXT,
            closed_at TEXT,
            closed_by TEXT,
            undeliverable INTEGER NOT NULL DEFAULT 0,
            staff_chat_id INTEGER NOT NULL,
            staff_thread_id INTEGER,
            staff_message_id INTEGER
        );
CREATE TABLE tickets_schema_version (version INTEGER NOT NULL);
INSERT INTO "tickets_schema_version" VALUES(1);
CREATE INDEX questions_by_time ON questions (asked_at);
CREATE INDEX tickets_by_user ON tickets (user_hash, opened_at);
CREATE INDEX tickets_by_thread ON tickets (staff_chat_id, staff_thread_id);
CREATE INDEX tickets_by_status ON tickets (status, last_activity_at);
CREATE INDEX tickets_by_opening ON tickets (opened_at);
CREATE INDEX ticket_routes_by_ticket ON ticket_routes (ticket_id);
DELETE FROM "sqlite_sequence";
COMMIT;
