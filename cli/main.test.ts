import type { Command } from 'commander';
import { buildProgram } from './main';
import { table } from './output';

function leaves(command: Command, prefix: string[] = []): { path: string; command: Command }[] {
  const path = [...prefix, command.name()];
  if (command.commands.length === 0) return [{ path: path.join(' '), command }];
  return command.commands.flatMap((child) => leaves(child, path));
}

describe('fti command tree', () => {
  it('has a description on every command', () => {
    for (const { path, command } of leaves(buildProgram())) {
      expect({ path, description: command.description() }).toEqual({
        path,
        description: expect.stringMatching(/\S/),
      });
    }
  });
});

describe('table', () => {
  it('pads columns to the widest cell', () => {
    expect(
      table([
        ['A', 'BB'],
        ['ccc', 'd'],
      ]),
    ).toBe('A    BB\nccc  d');
  });
});
