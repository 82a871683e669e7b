// Trainer tests are CPU-bound and share 2 cores with integration files running beside them: a hang
// guard, not a timing (jest's 5 s default fails them under load; `testTimeout` is not a project option).
jest.setTimeout(60_000);
