/**
 * The default source of the Job functions page: the settings of the defined models, edited through
 * the admin API's job-function overrides (stored, so every process sees the change).
 * @module
 */
import type { AdminApi } from '../admin/api.ts';
import type { JobFunctionsSource, JobFunctionView } from '../admin/sources.ts';

/** Job function settings read from the model definitions; `update` stores an override (`conveyor.jobFunctions`). */
export function jobFunctionsFromModels(admin: Pick<AdminApi, 'models' | 'jobFunctions'>): JobFunctionsSource {
  return {
    list: () => {
      const out: JobFunctionView[] = [];
      for (const def of admin.models.values()) {
        for (const [method, s] of def.settings) {
          const url = s.relatedAction.url;
          out.push({
            model: def.name,
            method,
            channel: s.channel,
            maxRetries: s.maxRetries,
            retryPattern: s.retryPattern,
            timeLimitMs: s.timeLimitMs,
            retryOnTimeout: s.retryOnTimeout,
            priority: s.priority,
            description: s.description,
            relatedAction: {
              enable: s.relatedAction.enable !== false,
              url: typeof url === 'string' ? url : null,
              custom: typeof url === 'function',
            },
          });
        }
      }
      return out.sort((a, b) => a.model.localeCompare(b.model) || a.method.localeCompare(b.method));
    },
    // edits are stored as job function overrides (conveyor.jobFunctions), shared by every process
    update: async (model, method, patch) => {
      const o: Record<string, unknown> = {};
      if (patch.channel !== undefined) o.channel = patch.channel;
      if (patch.maxRetries !== undefined) o.maxRetries = patch.maxRetries;
      if (patch.retryPattern !== undefined) o.retryPattern = patch.retryPattern;
      if (patch.timeLimitMs !== undefined) o.timeLimit = patch.timeLimitMs;
      if (patch.priority !== undefined) o.priority = patch.priority;
      await admin.jobFunctions.update(`${model}.${method}`, o);
    },
  };
}
