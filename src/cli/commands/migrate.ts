/**
 * `conveyor migrate`: the one command that creates a database (or schema) when there is none.
 * @module
 */
import type { Command } from 'commander';
import { Conveyor } from '../../conveyor.ts';
import { ConfigurationError } from '../../errors.ts';
import { resolveOptions } from '../config.ts';
import { out } from '../shared.ts';

/** Add `migrate` to the program. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply schema migrations, creating the database or schema if needed (also done automatically on open)')
    .action(async (_opts: unknown, cmd: Command) => {
      const config = resolveOptions(cmd, 'migrate');
      const conveyor = await Conveyor.open({
        database: config.database,
        schema: config.schema,
        logger: 'silent',
        migrate: false,
        maintenance: false,
      }).catch((err: unknown) => {
        if (err instanceof ConfigurationError && /schema is at version/.test(err.message)) return null;
        throw err;
      });
      const { openDriver } = await import('../../drivers/open.ts');
      if (conveyor) await conveyor.close();
      const driver = await openDriver(config.database ?? process.env.CONVEYOR_DATABASE ?? 'sqlite:./conveyor.db', {
        schema: config.schema,
      });
      try {
        const applied = await driver.migrate();
        const v = await driver.schemaVersion();
        out(cmd, { applied, version: v.current }, () =>
          applied.length
            ? `applied migrations ${applied.join(', ')}; schema at version ${v.current}`
            : `schema up to date (version ${v.current})`,
        );
      } finally {
        await driver.close();
      }
    });
}
