import { runCli } from '../support/cli';

describe('fti --help (compiled binary)', () => {
  it.each([['stack'], ['stack', 'up'], ['db', 'migrate'], ['check'], ['config']])(
    'fti %s … --help shows usage',
    (...args) => {
      const result = runCli([...args, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: fti');
    },
  );

  it.each([['stack'], ['db', 'migrate'], ['check'], ['config']])(
    'fti %s --help shows examples',
    (...args) => {
      expect(runCli([...args, '--help']).stdout).toContain('Examples:');
    },
  );

  it("a subcommand's --version option is the subcommand's, not the program version", () => {
    const result = runCli(['models', 'describe', 'no_such_model', '--version', '1'], {
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(result.stdout).not.toMatch(/^\d+\.\d+\.\d+/);
    expect(result.code).toBe(1);
    expect(runCli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('rejects an unknown command with a non-zero exit and a hint', () => {
    const result = runCli(['no-such-command']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unknown command 'no-such-command'");
  });

  it('fails fast on bad configuration with a one-line cause and no stack trace', () => {
    const result = runCli(['config'], { TEMPORAL_ADDRESS: 'not-an-address' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('TEMPORAL_ADDRESS must be host:port');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the resolved configuration without secrets', () => {
    const result = runCli(['config', '--json'], { S3_SECRET_ACCESS_KEY: 'very-secret-value' });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('very-secret-value');
    expect(JSON.parse(result.stdout)).toMatchObject({ s3SecretAccessKey: '***' });
  });
});
