/**
 * `conveyor.health()`: whether a Conveyor is open and its database answers (the dashboard's `/healthz`).
 * @module
 */
import type { Driver } from '../drivers/driver.ts';
import type { HealthStatus } from './api.ts';

/** What {@link readHealth} needs from its Conveyor. */
export interface HealthHost {
  readonly driver: Pick<Driver, 'schemaVersion' | 'dialect'>;
  /** Whether the Conveyor was closed. */
  closed(): boolean;
}

/** Read the schema version as a health probe; a failure is `{ status: 'error', error }`, never a throw. */
export async function readHealth(host: HealthHost): Promise<HealthStatus> {
  try {
    if (host.closed()) throw new Error('the Conveyor is closed');
    const v = await host.driver.schemaVersion();
    return { status: 'ok', database: host.driver.dialect, schemaVersion: v.current };
  } catch (err) {
    return { status: 'error', error: (err as Error).message };
  }
}
