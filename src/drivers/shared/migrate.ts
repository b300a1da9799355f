/**
 * The migration loop both drivers run: refuse a schema newer than this code, then apply each newer
 * migration in order, recording it, and report the versions applied. The migration lists stay in each
 * backend's `migrations.ts`.
 * @module
 */
import { MigrationError, SchemaTooNewError } from '../../errors.ts';
import { type StepSequence, step } from './steps.ts';

/** What the loop needs of a migration. */
export interface Migration {
  version: number;
  name: string;
}

/** The steps of {@link migrateSequence}. */
export type MigrateSteps<M extends Migration> = {
  /** The version the database is at (0 when empty). */
  current: { input: undefined; output: number };
  /** Apply one migration and record it; a throw fails the migration. */
  apply: { input: M; output: unknown };
};

/** The newest version of a list (oldest first). */
export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)!.version;
}

/**
 * Apply the migrations newer than the database's version, oldest first; returns their versions.
 * @param tooNew the message of the {@link SchemaTooNewError} when the database is ahead of this code
 */
export function* migrateSequence<M extends Migration>(
  migrations: readonly M[],
  tooNew: (current: number, latest: number) => string,
): StepSequence<MigrateSteps<M>, number[]> {
  const latest = latestVersion(migrations);
  const current = yield* step<MigrateSteps<M>, 'current'>('current', undefined);
  if (current > latest) throw new SchemaTooNewError(tooNew(current, latest), { details: { current, latest } });
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    try {
      yield* step<MigrateSteps<M>, 'apply'>('apply', m);
    } catch (err) {
      throw new MigrationError(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
    }
    applied.push(m.version);
  }
  return applied;
}
