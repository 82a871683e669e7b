import type { Command } from 'commander';
import { buildProgram } from './main';

function walk(command: Command, prefix: string[], out: string[]): void {
  const name = [...prefix, command.name()].join(' ');
  let text = '';
  // outputHelp includes the "after" texts (examples) that helpInformation() leaves out.
  command.configureOutput({
    writeOut: (s) => (text += s),
    writeErr: (s) => (text += s),
    // A fixed width: the reference must not depend on the terminal it was generated in.
    getOutHelpWidth: () => 100,
    getErrHelpWidth: () => 100,
  });
  command.outputHelp();
  out.push(`## \`${name}\``, '', '```text', text.trimEnd(), '```', '');
  for (const sub of command.commands) walk(sub, [...prefix, command.name()], out);
}

/** The CLI reference (docs/cli.md): every command's `--help`, generated from the command tree. */
export function cliReference(): string {
  const out = [
    '# `fti` CLI reference',
    '',
    'Generated from `--help` by `npm run docs:cli`; a unit test keeps it current.',
    '',
  ];
  walk(buildProgram(), [], out);
  return `${out.join('\n').trimEnd()}\n`;
}
