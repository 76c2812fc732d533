# Real servers on loopback for the tests, started once per test session (see each module).
pytest_plugins = ["tests.imap_server", "tests.smtp_server"]
