-- Schema 5: first made by commit 8ccf4e4 (2026-12-02): Merge i15: subscriptions and announcements (stored broadcast jobs, res
-- Stores: question_log v1, user_prefs v1, tickets v1, learning_store v1, subscriptions v1
BEGIN TRANSACTION;
CREATE TABLE blocked_users (
            user_hash TEXT PRIMARY KEY,
            blocked_at TEXT NOT NULL
        );
CREATE TABLE broadcast_recipients (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
            chat_id INTEGER NOT NULL,
            lang TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,  -- failed sends (5xx, network)
            PRIMARY KEY (broadcast_id, chat_id)
        ) WITHOUT ROWID;
CREATE TABLE broadcast_texts (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
            lang TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (broadcast_id, lang)
        ) WITHOUT ROWID;
CREATE TABLE broadcasts (
            id INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL,              -- running, done
            requested_by INTEGER,             -- the admin's chat, for progress (NULL: CLI)
            requested_lang TEXT,              -- and the language they use
            status_message_id INTEGER,        -- the admin's progress message
            owner TEXT,                       -- host:pid delivering it now
            lease_until TEXT,
            total INTEGER NOT NULL,
            delivered INTEGER NOT NULL DEFAULT 0,  -- counts, kept when the job is done
            blocked INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            resent INTEGER NOT NULL DEFAULT 0,     -- "sending" at a restart, sent again
            finished_at TEXT
        );
CREATE TABLE learning_changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            suggestion_id TEXT NOT NULL,
            path TEXT NOT NULL,             -- the FAQ file changed
            before BLOB,                    -- its bytes before (NULL: it did not exist)
            after BLOB NOT NULL,            -- its bytes after
            diff TEXT NOT NULL,
            state TEXT NOT NULL,            -- writing, applied, undoing, undone, abandoned
            changed_at TEXT NOT NULL,
            undone_at TEXT
        );
CREATE TABLE learning_choices (
            question_id TEXT PRIMARY KEY,   -- the question log's id of the question
            entry_id TEXT NOT NULL,         -- the "did you mean" choice the user picked
            chosen_at TEXT NOT NULL
        );
CREATE TABLE learning_decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            suggestion_id TEXT NOT NULL,
            decision TEXT NOT NULL,         -- accepted, rejected, undone
            kind TEXT NOT NULL,             -- variant, entry
            entry_id TEXT,
            lang TEXT,
            text TEXT NOT NULL,
            decided_by TEXT NOT NULL,       -- "cli" or "telegram"
            decided_at TEXT NOT NULL
        );
CREATE TABLE learning_schema_version (version INTEGER NOT NULL);
INSERT INTO "learning_schema_version" VALUES(1);
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
CREATE TABLE subscriber_topics (
            chat_id INTEGER NOT NULL REFERENCES subscribers (chat_id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            PRIMARY KEY (topic, chat_id)
        ) WITHOUT ROWID;
CREATE TABLE subscribers (
            chat_id INTEGER PRIMARY KEY,
            lang TEXT NOT NULL
        );
CREATE TABLE subscriptions_schema_version (version INTEGER NOT NULL);
INSERT INTO "subscriptions_schema_version" VALUES(1);
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
CREATE TABLE user_prefs (
            user_hash TEXT PRIMARY KEY,  -- HMAC of the Telegram user id, never the id itself
            lang TEXT NOT NULL,
            chosen_at TEXT NOT NULL      -- UTC, ISO 8601
        );
CREATE TABLE user_prefs_version (version INTEGER NOT NULL);
INSERT INTO "user_prefs_version" VALUES(1);
CREATE INDEX questions_by_time ON questions (asked_at);
CREATE INDEX tickets_by_user ON tickets (user_hash, opened_at);
CREATE INDEX tickets_by_thread ON tickets (staff_chat_id, staff_thread_id);
CREATE INDEX tickets_by_status ON tickets (status, last_activity_at);
CREATE INDEX tickets_by_opening ON tickets (opened_at);
CREATE INDEX ticket_routes_by_ticket ON ticket_routes (ticket_id);
CREATE INDEX learning_choices_by_time ON learning_choices (chosen_at);
CREATE INDEX learning_decisions_by_suggestion ON learning_decisions (suggestion_id);
CREATE INDEX subscriber_topics_by_chat ON subscriber_topics (chat_id);
CREATE INDEX broadcast_recipients_by_state
            ON broadcast_recipients (broadcast_id, state);
DELETE FROM "sqlite_sequence";
COMMIT;
