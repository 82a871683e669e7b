// Integration tests wait on real servers and workflow runs; jest's 5 s default is too short.
jest.setTimeout(120_000);
