"""Schema migrations. Each entry brings the database from version i to i + 1; the version
lives in SQLite's ``user_version``. Migrations only ever append: never edit a released one."""

MIGRATIONS: tuple[str, ...] = (
    # 1: clinicians, patients, sessions, takes, results, model versions
    """
    CREATE TABLE clinician (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created REAL NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE patient (
        id INTEGER PRIMARY KEY,
        pseudonym TEXT NOT NULL UNIQUE,
        year_of_birth INTEGER CHECK (year_of_birth BETWEEN 1900 AND 2100),
        sex TEXT CHECK (sex IN ('female', 'male', 'other', 'unknown')),
        handedness TEXT CHECK (handedness IN ('left', 'right', 'ambidextrous', 'unknown')),
        affected_side TEXT CHECK (affected_side IN ('left', 'right', 'both', 'none',
                                                    'unknown')),
        notes TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL
    );
    CREATE TABLE model_version (
        id TEXT PRIMARY KEY,
        trained_on TEXT NOT NULL,
        card_json TEXT NOT NULL,
        first_used REAL NOT NULL
    );
    CREATE TABLE session (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patient(id),
        clinician_id INTEGER REFERENCES clinician(id),
        protocol TEXT NOT NULL CHECK (protocol IN ('full', 'quick')),
        started REAL NOT NULL,
        finished REAL,
        notes TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE take (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id),
        task INTEGER NOT NULL CHECK (task BETWEEN 1 AND 11),
        dynamics TEXT NOT NULL CHECK (dynamics IN ('pp', 'ff')),
        tempo_mode TEXT NOT NULL CHECK (tempo_mode IN ('fixed', 'fastest')),
        file TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        recorded REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'recorded'
            CHECK (status IN ('recorded', 'processing', 'scored', 'failed'))
    );
    CREATE TABLE result (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id),
        take_id INTEGER REFERENCES take(id),
        kind TEXT NOT NULL,
        model_id TEXT REFERENCES model_version(id),
        data_json TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX take_session ON take(session_id);
    CREATE INDEX result_session ON result(session_id);
    CREATE INDEX session_patient ON session(patient_id);
    """,
    # 2: retakes keep the earlier take (marked superseded); quality checks with each take
    """
    ALTER TABLE take ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE take ADD COLUMN quality_json TEXT NOT NULL DEFAULT '{}';
    """,
    # 3: camera recordings waiting to be analysed into takes (video, frame times, key events)
    """
    CREATE TABLE raw_recording (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id),
        task INTEGER NOT NULL CHECK (task BETWEEN 1 AND 11),
        dynamics TEXT NOT NULL CHECK (dynamics IN ('pp', 'ff')),
        tempo_mode TEXT NOT NULL CHECK (tempo_mode IN ('fixed', 'fastest')),
        participant TEXT NOT NULL,
        video TEXT NOT NULL UNIQUE,
        times TEXT NOT NULL,
        keys TEXT NOT NULL,
        keys_source TEXT NOT NULL,
        keys_overflowed INTEGER NOT NULL DEFAULT 0,
        frames INTEGER NOT NULL,
        dropped_frames INTEGER NOT NULL DEFAULT 0,
        recorded REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'waiting'
            CHECK (status IN ('waiting', 'analysing', 'done', 'failed')),
        progress REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
        error TEXT NOT NULL DEFAULT '',
        take_id INTEGER REFERENCES take(id)
    );
    CREATE INDEX raw_recording_session ON raw_recording(session_id);
    """,
)
